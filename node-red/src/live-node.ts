import { matchesFilter, parseFilter, type FilterConfig } from './filters';
import { configOf, statusFor } from './hub';
import type { FeedSpec } from './live';
import type { Node, NodeAPI, NodeDef } from './red';

interface LiveNodeDef extends NodeDef, FilterConfig {
  hub?: string;
  snapshot?: boolean;
}

/**
 * `alarm in` and `case in`: one message per change that passes the node's
 * filter (area, facility type, severity, state), and, when asked, one per
 * item of the snapshot sent on a fresh connection (topic `snapshot`).
 */
export function registerLiveNode(RED: NodeAPI, type: string, feed: FeedSpec): void {
  RED.nodes.registerType(type, function (this: Node, def) {
    RED.nodes.createNode(this, def);
    const d = def as LiveNodeDef;
    const node = this;
    const hub = configOf(RED, node, d.hub);
    if (!hub) return;
    let filter;
    try {
      filter = parseFilter(d);
    } catch (err) {
      node.status(statusFor(RED, 'failed', (err as Error).message));
      node.error(err, { topic: 'config', payload: (err as Error).message });
      return;
    }
    const live = hub.live();
    const unsubscribe = live.subscribe({
      feed: feed.name,
      onState(state, detail) {
        node.status(statusFor(RED, state, detail));
        if (state === 'refused') {
          // With a message, so Catch nodes hear of it.
          const text = `${RED._(`${type}.errors.refused`)} (${detail ?? ''})`;
          node.error(new Error(text), { topic: 'refused', payload: detail });
        }
      },
      onSnapshot(items, version) {
        if (!d.snapshot) return;
        for (const item of items) {
          if (matchesFilter(filter, item)) node.send({ topic: 'snapshot', payload: item, version });
        }
      },
      onChange(change, item, version) {
        if (!matchesFilter(filter, item)) return;
        // Cases say `action` (dispatch, close…) and `reason`; alarms say `change` (opened, cleared…).
        node.send({
          topic: String(change.action ?? change.change ?? change.reason ?? 'changed'),
          payload: item,
          reason: change.reason,
          action: change.action,
          change: change.change,
          version,
        });
      },
    });
    node.on('close', (_removed, done) => {
      unsubscribe();
      done();
    });
  });
}
