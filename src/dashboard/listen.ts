import type { FastifyInstance } from 'fastify';
import { HubError } from '../domain/index.js';

/** Listens, or closes the app and names the taken port; resolves to the bound port. */
export async function listenOrExplain(
  app: FastifyInstance,
  options: { host: string; port: number },
): Promise<number> {
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new HubError(
        'HUB_ERR_PORT_IN_USE',
        `HTTP ${options.host}:${options.port} is taken; set HTTP_PORT to a free port`,
      );
    }
    throw err;
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : options.port;
}
