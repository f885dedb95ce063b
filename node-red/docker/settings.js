// Node-RED settings of the compose service (docker-compose.yml): the editor
// behind a login, credentials encrypted with a key from the environment, no
// palette installs at run time. Node-RED's own settings reference:
// https://nodered.org/docs/user-guide/runtime/settings-file
/* global process */
const bcrypt = require('/usr/src/node-red/node_modules/bcryptjs');

const password = process.env.NODE_RED_ADMIN_PASSWORD;
if (!password || password.length < 10) {
  throw new Error('NODE_RED_ADMIN_PASSWORD must be set, at least 10 characters (docs/deploy.md)');
}

module.exports = {
  uiPort: 1880,
  flowFile: 'flows.json',
  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET,
  adminAuth: {
    type: 'credentials',
    users: [{ username: 'admin', password: bcrypt.hashSync(password, 10), permissions: '*' }],
  },
  // Function nodes may use Node's own modules (crypto for DingTalk signatures), nothing installed.
  externalModules: {
    autoInstall: false,
    palette: { allowInstall: false },
    modules: { allowInstall: false },
  },
  functionExternalModules: true,
  editorTheme: { projects: { enabled: false }, tours: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
