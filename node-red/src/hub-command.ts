import { configOf, statusFor, type HubRequestError } from './hub';
import type { Node, NodeAPI, NodeDef, NodeMessage } from './red';

interface CommandDef extends NodeDef {
  hub?: string;
  deviceId?: string;
  command?: string;
  args?: string;
  timeout?: string | number;
}

interface Command {
  id: string;
  deviceId: string;
  name: string;
  state: 'sent' | 'acknowledged' | 'failed' | 'timed_out';
  error: string | null;
}

const pollMs = 500;

/**
 * `command`: sends a device command (POST /api/devices/:id/commands) and waits
 * for its outcome. Output 1: acknowledged. Output 2: failed or timed out
 * (msg.payload is the command). A refusal (unknown device or command, bad
 * arguments, no right to send) is an error for Catch nodes.
 */
export = (RED: NodeAPI) => {
  RED.nodes.registerType('hub-command', function (this: Node, def) {
    RED.nodes.createNode(this, def);
    const d = def as CommandDef;
    const node = this;
    const hub = configOf(RED, node, d.hub);
    if (!hub) return;
    // The hub marks a command timed_out after COMMAND_TIMEOUT_MS (30 s); wait a little longer.
    const timeoutMs = Math.max(1, Number(d.timeout) || 35) * 1000;
    const timers = new Set<NodeJS.Timeout>();
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      });

    node.on('input', (msg: NodeMessage, send, done) => {
      const deviceId = String(msg.deviceId ?? d.deviceId ?? '').trim();
      const name = String(msg.command ?? d.command ?? '').trim();
      let args: unknown = {};
      try {
        args =
          msg.payload && typeof msg.payload === 'object'
            ? msg.payload
            : d.args
              ? JSON.parse(d.args)
              : {};
      } catch {
        done(new Error('args is not JSON'));
        return;
      }
      node.status(statusFor(RED, 'waiting', `${deviceId} ${name}`));
      void (async () => {
        const sent = await hub.request<Command>(
          'POST',
          `/api/devices/${encodeURIComponent(deviceId)}/commands`,
          {
            body: { name, args },
          },
        );
        const deadline = Date.now() + timeoutMs;
        let command = sent;
        while (command.state === 'sent' && Date.now() < deadline) {
          await sleep(pollMs);
          const list = await hub.request<{ commands: Command[] }>(
            'GET',
            `/api/devices/${encodeURIComponent(deviceId)}/commands`,
            { query: { limit: 50 } },
          );
          command = list.commands.find((c) => c.id === sent.id) ?? command;
        }
        if (command.state === 'sent') command = { ...command, state: 'timed_out' };
        msg.payload = command;
        if (command.state === 'acknowledged') {
          node.status(statusFor(RED, 'ok', `${deviceId} ${name}`));
          send([msg, null]);
        } else {
          node.status(statusFor(RED, 'failed', `${deviceId} ${name}: ${command.state}`));
          send([null, msg]);
        }
        done();
      })().catch((err: HubRequestError) => {
        const refused = err.status === 401 || err.status === 403;
        node.status(statusFor(RED, refused ? 'refused' : 'failed', err.code ?? err.message));
        // A viewer token: say what to change, not only the hub's code.
        if (err.code === 'HUB_ERR_FORBIDDEN')
          err.message = `${RED._('hub-command.errors.forbidden')} (${err.message})`;
        done(err);
      });
    });
    node.on('close', (_removed, done) => {
      for (const t of timers) clearTimeout(t);
      done();
    });
  });
};
