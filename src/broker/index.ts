export {
  createBroker,
  type Broker,
  type BrokerOptions,
  type DeviceDirectory,
  type PublishHandler,
} from './broker.js';
export { createCommandService, type CommandService, type Publisher } from './commands.js';
export type { StoreOptions } from './stores.js';
export type { Protocol } from './listeners.js';
export { listenBacklog } from './listeners.js';
export { createStormWatch } from './storm-watch.js';
