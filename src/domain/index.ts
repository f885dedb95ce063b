export * from './facilities.js';
export * from './schemas.js';
export * from './grid.js';
export * from './topics.js';
export * from './errors.js';
export * from './events.js';
export * from './demo-city.js';
