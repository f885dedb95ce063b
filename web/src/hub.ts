import { markRaw, reactive } from 'vue';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, DeviceReadings, ServerToClientEvents } from '@domain/events.js';
import { api, ApiError, type CaseDetail, type DeviceRow, type User } from './api.js';
import { loadCatalog } from './catalog.js';
import { AlarmBook } from './stores/alarms.js';
import { CaseBook } from './stores/cases.js';

/**
 * One session and one live connection for every page: who is logged in, the
 * socket.io link and the books it keeps current (cases, alarms, devices).
 * The books are plain objects (not deeply reactive: 100,000 devices); views
 * watch the `ticks`, which count changes.
 */
export const session = reactive({
  user: null as User | null,
  checked: false,
});

export const live = reactive({
  state: 'connecting' as 'connecting' | 'connected' | 'disconnected',
  ticks: { cases: 0, alarms: 0, devices: 0 },
  devicesLoaded: false,
  error: '' as string,
});

export const cases = markRaw(new CaseBook<CaseDetail>());
export const alarms = markRaw(new AlarmBook());
/** Devices with their position and live online flag. */
export const devices = markRaw({
  rows: [] as DeviceRow[],
  online: new Map<string, boolean>(),
  /** Version of the device-status feed the online flags are current to. */
  version: 0,
});

/** Devices a drawer watches: their readings arrive live (`device:watch`). */
const watched = new Set<string>();
const readingListeners = new Set<(batch: DeviceReadings) => void>();

export function watchDevice(id: string, onReadings: (batch: DeviceReadings) => void): () => void {
  watched.add(id);
  readingListeners.add(onReadings);
  socket?.emit('device:watch', id);
  return () => {
    watched.delete(id);
    readingListeners.delete(onReadings);
    socket?.emit('device:unwatch', id);
  };
}

type HubSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
let socket: HubSocket | null = null;

type LiveEvent = 'fieldReport:changed' | 'verification:requested';
const liveListeners: { event: LiveEvent; fn: (payload: never) => void }[] = [];

/**
 * A page's own live feed (reports, verification tasks: issue #16) on the one
 * connection, kept across reconnects; returns the unsubscribe.
 */
export function onLive<E extends LiveEvent>(event: E, fn: ServerToClientEvents[E]): () => void {
  const entry = { event, fn: fn as (payload: never) => void };
  liveListeners.push(entry);
  socket?.on(event, fn as never);
  return () => {
    liveListeners.splice(liveListeners.indexOf(entry), 1);
    socket?.off(event, fn as never);
  };
}

/** Phone roles (crews, grid inspectors) get no device map feed. */
export const isPhoneRole = (role: string | undefined): boolean =>
  role === 'crew' || role === 'inspector';
let alarmPoll: ReturnType<typeof setInterval> | null = null;
/** The hub pushes alarms: no polling (a hub without the alarm feed is polled every 3 s). */
let liveAlarms = false;

export async function checkSession(): Promise<User | null> {
  try {
    session.user = (await api.me()).user;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.user = null;
  }
  session.checked = true;
  if (session.user) await start();
  return session.user;
}

export async function login(username: string, password: string): Promise<User> {
  const { user } = await api.login(username, password);
  session.user = user;
  await start();
  return user;
}

export async function logout(): Promise<void> {
  stop();
  await api.logout().catch(() => undefined);
  session.user = null;
}

async function start(): Promise<void> {
  await loadCatalog();
  connect();
  void loadAlarms();
  alarmPoll ??= setInterval(() => {
    if (!liveAlarms) void loadAlarms();
  }, 3000);
}

function stop(): void {
  socket?.disconnect();
  socket = null;
  if (alarmPoll) clearInterval(alarmPoll);
  alarmPoll = null;
}

function connect(): void {
  if (socket) return;
  const s: HubSocket = io({
    withCredentials: true,
    // Resume: after a drop, only the changes after what is held (docs/api.md).
    auth: (cb) =>
      cb({
        ...(cases.version ? { sinceVersion: cases.version } : {}),
        ...(alarms.version ? { alarmsSinceVersion: alarms.version } : {}),
      }),
  });
  socket = s;
  for (const l of liveListeners) s.on(l.event, l.fn as never);
  s.on('connect', () => {
    live.state = 'connected';
    // Device connection states for the map (control-room roles; a crew has no map).
    if (session.user && !isPhoneRole(session.user.role)) s.emit('devices:subscribe');
    for (const id of watched) s.emit('device:watch', id);
  });
  s.on('alarms:snapshot', ({ version, alarms: list }) => {
    liveAlarms = true;
    alarms.applySnapshot(version, list);
    live.ticks.alarms++;
  });
  s.on('alarm:changed', ({ version, alarm }) => {
    liveAlarms = true;
    if (alarms.applyChange(version, alarm)) live.ticks.alarms++;
  });
  s.on('devices:snapshot', ({ version, ids, online }) => {
    devices.version = version;
    ids.forEach((id, i) => devices.online.set(id, online[i] === 1));
    live.ticks.devices++;
  });
  s.on('devices:changed', ({ fromVersion, version, changes }) => {
    // A batch missed: ask for a fresh snapshot rather than show a wrong state.
    if (fromVersion !== devices.version) return void s.emit('devices:subscribe');
    devices.version = version;
    for (const c of changes) devices.online.set(c.deviceId, c.online);
    live.ticks.devices++;
  });
  s.on('device:readings', (batch) => {
    for (const f of readingListeners) f(batch);
  });
  s.on('disconnect', (reason) => {
    live.state = 'disconnected';
    // The hub closed the link (a restart, or a changed role after `session:ended`
    // user_changed): socket.io leaves that closed; a session that still holds
    // connects again, resuming from the versions held. An ended session has no socket.
    if (reason === 'io server disconnect')
      setTimeout(() => {
        if (socket === s) s.connect();
      }, 1000);
  });
  s.on('connect_error', () => (live.state = 'disconnected'));
  s.on('cases:snapshot', ({ version, cases: list }) => {
    cases.applySnapshot(version, list as CaseDetail[]);
    live.ticks.cases++;
  });
  s.on('case:changed', ({ case: c }) => {
    if (cases.apply(c as CaseDetail)) live.ticks.cases++;
  });
  s.on('session:ended', ({ reason }) => {
    if (reason === 'user_changed') {
      cases.version = 0;
      return;
    }
    stop();
    session.user = null;
  });
}

/** Open alarms from REST; replaced by the live alarm feed where the hub has it. */
export async function loadAlarms(): Promise<void> {
  if (liveAlarms) return;
  try {
    const { alarms: list } = await api.alarms('open');
    alarms.applySnapshot(alarms.version, list);
    live.ticks.alarms++;
  } catch (err) {
    live.error = (err as Error).message;
  }
}

/** Every device, a page of 1,000 at a time (GET /api/devices). */
export async function loadDevices(): Promise<void> {
  if (live.devicesLoaded) return;
  const rows: DeviceRow[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await api.devices(offset);
    rows.push(...page.devices);
    if (page.devices.length < 1000 || rows.length >= page.total) break;
  }
  devices.rows = rows;
  for (const d of rows) devices.online.set(d.id, d.online);
  live.devicesLoaded = true;
  live.ticks.devices++;
}

/** A case fresh from REST (an action's answer): newer than held, it wins. */
export function applyCase(c: CaseDetail): void {
  if (cases.apply(c)) live.ticks.cases++;
}
