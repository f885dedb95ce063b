import { configOf, statusFor, HubRequestError } from './hub';
import { idempotencyKeyOf, registrationKeyOf } from './requests';
import type { Node, NodeAPI, NodeDef, NodeMessage } from './red';

interface CaseActionDef extends NodeDef {
  hub?: string;
  action?: string;
  note?: string;
}

/** Retried with the same key: a timeout or a 5xx may hide an action the hub did take. */
const attempts = 3;
const retryable = (err: unknown) =>
  !(err instanceof HubRequestError) ||
  err.status >= 500 ||
  err.status === 429 ||
  // The first request with this key is still running on the hub (docs/api.md, "Idempotency keys").
  err.code === 'HUB_ERR_IDEMPOTENCY_IN_PROGRESS';

/**
 * `case action`: a workflow action on a case (POST
 * /api/cases/:id/actions/:action) with an `Idempotency-Key`. The case is
 * msg.caseId, or msg.payload when it is a case (what `case in` sends). The
 * body is msg.actionBody merged over `{note}`. Output: the case after it.
 */
export = (RED: NodeAPI) => {
  RED.nodes.registerType('hub-case-action', function (this: Node, def) {
    RED.nodes.createNode(this, def);
    const d = def as CaseActionDef;
    const node = this;
    const hub = configOf(RED, node, d.hub);
    if (!hub) return;

    /** Sends with retries under one key; the case after it goes out, an error to Catch nodes. */
    const settle = (
      msg: NodeMessage,
      send: (m: NodeMessage) => void,
      done: (err?: Error) => void,
      what: string,
      key: string,
      request: () => Promise<unknown>,
    ) => {
      void (async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await request();
          } catch (err) {
            if (attempt >= attempts || !retryable(err)) throw err;
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
      })().then(
        (after) => {
          msg.payload = after;
          msg.idempotencyKey = key;
          node.status(statusFor(RED, 'ok', what));
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
    };

    node.on('input', (msg, send, done) => {
      const payload = (msg.payload ?? {}) as { id?: unknown };
      const action = String(msg.action ?? d.action ?? '').trim();
      // Registering creates the case (POST /api/cases): msg.payload is the new case.
      if (action === 'register') {
        if (typeof msg.payload !== 'object' || msg.payload === null) {
          done(
            new Error('register needs the new case in msg.payload ({source, severity, title…})'),
          );
          return;
        }
        const body = msg.payload;
        const key = registrationKeyOf(msg, body);
        settle(msg, send, done, 'register', key, () =>
          hub.request<unknown>('POST', '/api/cases', {
            body,
            headers: { 'idempotency-key': key },
          }),
        );
        return;
      }
      const caseId = Number(msg.caseId ?? payload.id);
      if (!Number.isInteger(caseId) || caseId < 1 || !/^[a-z_]+$/.test(action)) {
        done(
          new Error(
            `needs a case id (msg.caseId or a case in msg.payload) and an action, got ${caseId} ${action}`,
          ),
        );
        return;
      }
      const key = idempotencyKeyOf(msg, caseId, action);
      const body = {
        ...(d.note ? { note: d.note } : {}),
        ...((msg.actionBody as Record<string, unknown> | undefined) ?? {}),
      };
      settle(msg, send, done, `${caseId} ${action}`, key, () =>
        hub
          .request<{ case: unknown }>('POST', `/api/cases/${caseId}/actions/${action}`, {
            body,
            headers: { 'idempotency-key': key },
          })
          .then((res) => res.case),
      );
    });
  });
};
