import { createApp } from 'vue';
import 'leaflet/dist/leaflet.css';
import './style.css';
import App from './App.vue';
import { i18n } from './i18n.js';
import { router } from './router.js';

createApp(App).use(i18n).use(router).mount('#app');

// The crew app is installable and opens with no network (issue #13): the
// service worker keeps the app shell; actions wait in IndexedDB (offline-queue.ts).
if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  });
}
