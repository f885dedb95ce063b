import { configOf, statusFor, HubRequestError } from './hub';
import { idempotencyKeyOf } from './requests';
import type { Node, NodeAPI, NodeDef } from './red';

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

    node.on('input', (msg, send, done) => {
      const payload = (msg.payload ?? {}) as { id?: unknown };
      const caseId = Number(msg.caseId ?? payload.id);
      const action = String(msg.action ?? d.action ?? '').trim();
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
      void (async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await hub.request<{ case: unknown }>(
              'POST',
              `/api/cases/${caseId}/actions/${action}`,
              { body, headers: { 'idempotency-key': key } },
            );
          } catch (err) {
            if (attempt >= attempts || !retryable(err)) throw err;
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
      })().then(
        (res) => {
          msg.payload = res.case;
          msg.idempotencyKey = key;
          node.status(statusFor(RED, 'ok', `${caseId} ${action}`));
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
