// Node-RED 4.1 ships no TypeScript types; the embedding API the hub uses.
declare module 'node-red' {
  import type { IncomingMessage, Server, ServerResponse } from 'node:http';
  const RED: {
    init(server: Server, settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    httpAdmin: (req: IncomingMessage, res: ServerResponse) => void;
  };
  export default RED;
}
