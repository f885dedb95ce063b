export {
  buildApp,
  createDashboard,
  type Dashboard,
  type DashboardDeps,
  type DashboardOptions,
} from './server.js';
