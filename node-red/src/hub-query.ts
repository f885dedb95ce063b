import { configOf, statusFor, type HubRequestError } from './hub';
import type { Node, NodeAPI, NodeDef } from './red';
import { queries } from './requests';

interface QueryDef extends NodeDef {
  hub?: string;
  query?: string;
  params?: string;
}

/**
 * `query`: devices, latest values, series, alarms, cases or KPIs. Parameters:
 * the node's (JSON) with msg.query merged over them. Output: msg.payload is
 * the hub's answer.
 */
export = (RED: NodeAPI) => {
  RED.nodes.registerType('hub-query', function (this: Node, def) {
    RED.nodes.createNode(this, def);
    const d = def as QueryDef;
    const node = this;
    const hub = configOf(RED, node, d.hub);
    if (!hub) return;
    let params: Record<string, unknown> = {};
    try {
      params = d.params ? (JSON.parse(d.params) as Record<string, unknown>) : {};
    } catch {
      node.status(statusFor(RED, 'failed', 'params'));
      node.error(new Error('params is not JSON'), { topic: 'config', payload: d.params });
    }
    node.on('input', (msg, send, done) => {
      const kind = String(msg.queryKind ?? d.query ?? 'devices');
      const path = queries[kind];
      if (!path) {
        done(new Error(`unknown query "${kind}": one of ${Object.keys(queries).join(', ')}`));
        return;
      }
      const query = { ...params, ...((msg.query as Record<string, unknown> | undefined) ?? {}) };
      hub.request('GET', path, { query }).then(
        (res) => {
          msg.payload = res;
          node.status(statusFor(RED, 'ok', kind));
          send(msg);
          done();
        },
        (err: HubRequestError) => {
          node.status(
            statusFor(RED, err.status === 401 ? 'refused' : 'failed', err.code ?? err.message),
          );
          done(err);
        },
      );
    });
  });
};
