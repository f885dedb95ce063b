export {
  createBroker,
  type Broker,
  type BrokerOptions,
  type DeviceDirectory,
  type PublishHandler,
} from './broker.js';
export { maySubscribe, publishKindFor } from './acl.js';
