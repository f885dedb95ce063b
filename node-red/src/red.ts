/**
 * The slice of Node-RED's runtime API these nodes use (Node-RED 4.1 ships no
 * TypeScript types; @types/node-red lags behind).
 */
export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'dot' | 'ring';
  text?: string;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

export type Send = (msg: NodeMessage | (NodeMessage | null)[]) => void;
export type Done = (err?: Error) => void;

export interface Node {
  id: string;
  name?: string;
  credentials: Record<string, string | undefined>;
  on(event: 'input', handler: (msg: NodeMessage, send: Send, done: Done) => void): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  status(status: NodeStatus): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(text: unknown): void;
  log(text: unknown): void;
}

export interface NodeAPI {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    registerType(
      type: string,
      constructor: (this: Node, def: NodeDef) => void,
      options?: { credentials?: Record<string, { type: 'text' | 'password' }> },
    ): void;
    getNode(id: string): Node | null;
  };
  _(key: string, substitutions?: Record<string, unknown>): string;
}
