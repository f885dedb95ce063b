import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * The control room and the crew page reconnect at once when the server
 * disconnects them (app.js, crew.js); a hub shutting down must not wait for
 * those new connections.
 */
describe('closing the dashboard while pages reconnect', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t?.stop());

  it('closes although every client reconnects the moment it is disconnected', async () => {
    const sockets = Array.from({ length: 5 }, () => {
      const s = io(t.httpUrl, { auth: { token: t.adminToken }, transports: ['websocket'] });
      s.on('disconnect', (reason) => {
        if (reason === 'io server disconnect') s.connect();
      });
      return s;
    });
    try {
      await waitFor(() => (sockets.every((s) => s.connected) ? true : undefined), 'connections');
      await t.hub.dashboard.close();
      // Nothing was let in again once closing began.
      await new Promise((r) => setTimeout(r, 300));
      expect(sockets.filter((s) => s.connected)).toHaveLength(0);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
