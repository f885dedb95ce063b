import { createApp } from 'vue';
import 'leaflet/dist/leaflet.css';
import '../style.css';
import { i18n } from '../i18n.js';
import CitizenApp from './CitizenApp.vue';

// The public page: no session, no socket, no service worker (docs/ui.md, "Citizen page").
createApp(CitizenApp).use(i18n).mount('#app');
