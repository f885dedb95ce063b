export {
  createBroker,
  type Broker,
  type BrokerOptions,
  type DeviceDirectory,
  type PublishHandler,
} from './broker.js';
export {
  isServiceUsername,
  maySubscribe,
  publishKindFor,
  serviceMayPublish,
  serviceMaySubscribe,
  willAllowed,
} from './acl.js';
export { createCommandService, type CommandService, type Publisher } from './commands.js';
export { createAuthThrottle, createRateLimiter } from './limits.js';
export type { StoreOptions } from './stores.js';
export type { Protocol } from './listeners.js';
