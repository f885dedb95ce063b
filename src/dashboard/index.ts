export {
  buildApp,
  createDashboard,
  type Dashboard,
  type DashboardDeps,
  type DashboardOptions,
} from './server.js';
export {
  cookieIsSecure,
  parseTrustProxy,
  type CookieSecure,
  type TrustProxy,
} from './http-config.js';
export { createOpsServer } from './ops-server.js';
export { createSessionEnds, type SessionEnds } from './sessions.js';
export { createDeviceStatusFeed, maxWatchesPerSocket } from './device-live.js';
