export {
  createDashboard,
  type Dashboard,
  type DashboardDeps,
  type DashboardOptions,
} from './server.js';
export {
  parseAllowedOrigins,
  parseTrustProxy,
  type CookieSecure,
  type TrustProxy,
} from './http-config.js';
export { createOpsServer } from './ops-server.js';
export { createSessionEnds, type SessionEnds } from './sessions.js';
export { createDeviceStatusFeed } from './device-live.js';
export {
  createLoginGuard,
  defaultHashConcurrency,
  defaultLoginGuard,
  type LoginGuardOptions,
} from './login-guard.js';
export { createPasswordHasher } from './password-hasher.js';
