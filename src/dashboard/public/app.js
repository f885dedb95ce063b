// Live list of open cases for the control room. Plain browser JavaScript, no build step.
// Contract: src/domain/events.ts (ServerToClientEvents, CaseRecord).
// Every piece of server data reaches the DOM through textContent or setAttribute, never innerHTML.
(() => {
  'use strict';

  /** Bilingual texts: [中文, English]. The operator UI is Chinese first. */
  const texts = {
    title: ['城市设施监测 · 案件', 'Urban Facility Hub · Cases'],
    open: ['未结案件', 'Open cases'],
    connecting: ['连接中…', 'Connecting…'],
    connected: ['已连接', 'connected'],
    disconnected: ['连接中断', 'disconnected, reconnecting'],
    empty: ['暂无案件', 'No open cases'],
    recovered: ['已恢复', 'recovered'],
    lastUpdate: ['最后更新', 'Last update'],
    version: ['版本', 'Version'],
    colCode: ['编号', 'Code'],
    colSeverity: ['级别', 'Severity'],
    colTitle: ['标题', 'Title'],
    colDevice: ['设备', 'Device'],
    colGrid: ['网格', 'Grid'],
    colState: ['状态', 'State'],
    colCreated: ['立案时间', 'Created'],
    colActions: ['操作', 'Actions'],
    loginTitle: ['登录', 'Log in'],
    username: ['用户名', 'Username'],
    password: ['密码', 'Password'],
    loginButton: ['登录', 'Log in'],
    loginFailed: ['用户名或密码错误', 'Wrong username or password'],
    logout: ['退出', 'Log out'],
    overdue: ['超期', 'overdue'],
    dispatchOverdue: ['派遣超时', 'dispatch late'],
    kpiTitle: ['考核指标（按区）', 'KPIs by district'],
    kpiArea: ['区域', 'Area'],
    kpiFacilities: ['设施数', 'Facilities'],
    kpiIntegrity: ['设施完好率', 'Integrity'],
    kpiOnline: ['在线率', 'Online'],
    kpiLighting: ['亮灯率', 'Lighting'],
    kpiClosure: ['结案率', 'Closure'],
    kpiOnTime: ['按期结案率', 'On-time closure'],
    kpiDaytime: ['非亮灯时段：亮灯率不计', 'Outside lighting hours: no lighting rate'],
    kpiFailed: ['指标加载失败', 'KPIs failed to load'],
  };

  /** Lower bounds a rate is judged against: from GET /api/catalog (src/domain/catalog.ts). */
  const kpiTargets = {};

  const severityLabels = {
    critical: ['紧急', 'critical'],
    major: ['重要', 'major'],
    minor: ['一般', 'minor'],
    warning: ['提示', 'warning'],
  };

  const stateLabels = {
    registered: ['立案', 'registered'],
    dispatched: ['派遣', 'dispatched'],
    in_handling: ['处置', 'in handling'],
    handled: ['反馈', 'handled'],
    verified: ['核查', 'verified'],
    closed: ['结案', 'closed'],
    returned: ['退回', 'returned'],
    deferred: ['缓办', 'deferred'],
    cancelled: ['作废', 'cancelled'],
  };

  /** States that leave the open list (the snapshot holds every other state). */
  const finalStates = new Set(['closed', 'cancelled']);

  const langKey = 'hub.lang';

  const $ = (id) => document.getElementById(id);
  const tbody = $('cases');
  const emptyEl = $('empty');
  const openCountEl = $('open-count');
  const connectionEl = $('connection');
  const staleBanner = $('stale-banner');
  const lastUpdateEl = $('last-update');
  const versionEl = $('version');
  const langToggle = $('lang-toggle');
  const loginPanel = $('login-panel');
  const loginForm = $('login-form');
  const loginError = $('login-error');
  const mainEl = $('main');
  const userNameEl = $('user-name');
  const logoutButton = $('logout');
  const session = window.hubSession;

  /** @type {Map<number, object>} every case seen, by id, at the highest version seen */
  const cases = new Map();
  /** @type {Map<number, HTMLTableRowElement>} */
  const rows = new Map();
  let lastVersion = 0;
  let hadSnapshot = false;
  let disconnectedAt = null;
  let connectionState = 'connecting';

  // ---------- language ----------

  function readLang() {
    try {
      return localStorage.getItem(langKey) === 'en' ? 'en' : 'zh';
    } catch {
      return 'zh';
    }
  }

  let lang = readLang();

  function pair(entry) {
    return lang === 'en' ? [entry[1], entry[0]] : [entry[0], entry[1]];
  }

  /** Fills `target` with the primary text and, alongside, the other language. */
  function fillBilingual(target, entry) {
    const [primary, secondary] = pair(entry);
    const pri = document.createElement('span');
    pri.className = 'pri';
    pri.textContent = primary;
    const sec = document.createElement('span');
    sec.className = 'sec';
    sec.textContent = secondary;
    target.replaceChildren(pri, document.createTextNode(' '), sec);
    return target;
  }

  function bilingual(entry, className) {
    const span = document.createElement('span');
    if (className) span.className = className;
    return fillBilingual(span, entry);
  }

  function applyStaticTexts() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    for (const node of document.querySelectorAll('[data-i18n]')) {
      const entry = texts[node.getAttribute('data-i18n')];
      if (entry) fillBilingual(node, entry);
    }
    langToggle.textContent = lang === 'en' ? '中文' : 'English';
    renderConnection();
  }

  langToggle.addEventListener('click', () => {
    lang = lang === 'en' ? 'zh' : 'en';
    try {
      localStorage.setItem(langKey, lang);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    applyStaticTexts();
    for (const [id, tr] of rows) fillRow(tr, cases.get(id));
    renderKpis();
    render();
  });

  // ---------- formatting ----------

  const pad2 = (n) => String(n).padStart(2, '0');

  function localTime(value) {
    const d = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(d.getTime())) return { time: String(value ?? ''), date: '' };
    return {
      time: `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`,
      date: `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`,
    };
  }

  function text(value) {
    return value === null || value === undefined || value === '' ? '—' : String(value);
  }

  function createdMs(c) {
    const ms = Date.parse(c.createdAt);
    return Number.isNaN(ms) ? 0 : ms;
  }

  /** Newest first; the id breaks ties (ids grow with time). */
  function newestFirst(a, b) {
    return createdMs(b) - createdMs(a) || Number(b.id) - Number(a.id);
  }

  // ---------- rows ----------

  function cell(columnKey) {
    const td = document.createElement('td');
    td.setAttribute('data-label', pair(texts[columnKey]).join(' '));
    return td;
  }

  function fillRow(tr, c) {
    tr.setAttribute('data-case-code', String(c.code));
    tr.setAttribute('data-severity', String(c.severity));
    tr.setAttribute('data-state', String(c.state));

    const code = cell('colCode');
    code.className = 'code';
    code.textContent = text(c.code);

    const severity = cell('colSeverity');
    const sevEntry = severityLabels[c.severity];
    const badge = sevEntry
      ? bilingual(sevEntry, 'badge sev-' + c.severity)
      : Object.assign(document.createElement('span'), {
          className: 'badge sev-unknown',
          textContent: text(c.severity),
        });
    severity.append(badge);

    const title = cell('colTitle');
    title.className = 'title';
    title.textContent = text(c.title);

    const device = cell('colDevice');
    device.className = 'mono';
    device.textContent = text(c.deviceId);

    const grid = cell('colGrid');
    grid.className = 'mono';
    grid.textContent = text(c.gridCode);

    const state = cell('colState');
    const stateEntry = stateLabels[c.state];
    state.append(
      stateEntry
        ? bilingual(stateEntry, 'state')
        : Object.assign(document.createElement('span'), {
            className: 'state',
            textContent: text(c.state),
          }),
    );
    if (c.overdue) state.append(' ', bilingual(texts.overdue, 'chip overdue'));
    // Still waiting for dispatch past its deadline (1 working hour, domain.md).
    if (c.dispatchOverdue && (c.state === 'registered' || c.state === 'returned')) {
      state.append(' ', bilingual(texts.dispatchOverdue, 'chip overdue'));
    }
    if (c.recoveredAt) {
      const chip = bilingual(texts.recovered, 'chip recovered');
      chip.title = localTime(c.recoveredAt).date + ' ' + localTime(c.recoveredAt).time;
      state.append(' ', chip);
    }

    const created = cell('colCreated');
    const when = localTime(c.createdAt);
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = when.time;
    const date = document.createElement('span');
    date.className = 'date';
    date.textContent = when.date;
    created.append(time, ' ', date);
    created.title = String(c.createdAt);

    const actions = cell('colActions');
    actions.className = 'actions';
    for (const action of session.actionsFor(c)) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'action';
      button.setAttribute('data-action', action);
      const [zh, en] = session.label(action);
      fillBilingual(button, [zh, en]);
      button.addEventListener('click', () => {
        button.disabled = true;
        session
          .act(c, action)
          .catch((err) => window.alert(`${err.code || ''} ${err.message}`))
          .finally(() => (button.disabled = false));
      });
      actions.append(button);
    }

    tr.replaceChildren(code, severity, title, device, grid, state, created, actions);
  }

  function flash(tr, className) {
    tr.classList.remove('row-new', 'row-changed');
    // Reading offsetWidth restarts the animation when the same row flashes twice.
    void tr.offsetWidth;
    tr.classList.add(className);
  }

  function onAnimationEnd(event) {
    event.currentTarget.classList.remove('row-new', 'row-changed');
  }

  function rowFor(c) {
    let tr = rows.get(c.id);
    if (!tr) {
      tr = document.createElement('tr');
      tr.addEventListener('animationend', onAnimationEnd);
      rows.set(c.id, tr);
    }
    fillRow(tr, c);
    return tr;
  }

  // ---------- rendering ----------

  function render() {
    const open = [...cases.values()].filter((c) => !finalStates.has(c.state)).sort(newestFirst);

    // Move rows only where the order changed, so running highlights are not restarted.
    let cursor = tbody.firstElementChild;
    for (const c of open) {
      const tr = rows.get(c.id) ?? rowFor(c);
      if (tr === cursor) cursor = cursor.nextElementSibling;
      else tbody.insertBefore(tr, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    for (const [id, c] of cases) {
      if (finalStates.has(c.state)) rows.delete(id);
    }

    // Before the first snapshot the list is unknown, not empty.
    const count = hadSnapshot ? String(open.length) : '—';
    openCountEl.textContent = count;
    emptyEl.hidden = !hadSnapshot || open.length > 0;
    document.title = `(${count}) ${texts.title[0]} / ${texts.title[1]}`;
    versionEl.textContent = lastVersion ? String(lastVersion) : '—';
  }

  function touched() {
    const now = localTime(new Date());
    lastUpdateEl.textContent = `${now.time} ${now.date}`;
  }

  // ---------- connection ----------

  function renderConnection() {
    const connected = connectionState === 'connected';
    connectionEl.setAttribute('data-state', connected ? 'connected' : 'disconnected');
    const label = connectionEl.querySelector('.conn-text');
    fillBilingual(label, texts[connectionState]);

    document.body.classList.toggle('stale', !connected && disconnectedAt !== null);
    if (!connected && disconnectedAt !== null) {
      const since = localTime(disconnectedAt);
      const [primary, secondary] = pair([
        `连接中断，画面可能已过时（自 ${since.time} 起），正在重连…`,
        `Disconnected since ${since.time}: this screen may be stale. Reconnecting…`,
      ]);
      const pri = document.createElement('strong');
      pri.textContent = primary;
      const sec = document.createElement('span');
      sec.className = 'sec';
      sec.textContent = secondary;
      staleBanner.replaceChildren(pri, ' ', sec);
      staleBanner.hidden = false;
    } else {
      staleBanner.hidden = true;
      staleBanner.replaceChildren();
    }
  }

  function setConnection(state) {
    if (state === 'connected') disconnectedAt = null;
    else if (disconnectedAt === null && connectionState === 'connected')
      disconnectedAt = new Date();
    connectionState = state;
    renderConnection();
  }

  // ---------- socket ----------

  applyStaticTexts();
  render();

  // ---------- KPIs (docs/cases.md, "KPIs" and "Facility KPIs") ----------

  const kpiPanel = $('kpi-panel');
  const kpiRows = $('kpi-rows');
  const kpiNote = $('kpi-note');
  /** The last answer: rendered again when the language changes. */
  let kpiData = null;
  let kpiTimer = null;

  const percent = (rate) =>
    typeof rate === 'number' ? `${(Math.round(rate * 1000) / 10).toFixed(1)} %` : '—';

  function kpiCell(tr, key, value, rate) {
    const td = document.createElement('td');
    td.setAttribute('data-kpi', key);
    td.textContent = value;
    const target = kpiTargets[key];
    if (target !== undefined && typeof rate === 'number' && rate < target) {
      td.classList.add('below-target');
    }
    tr.appendChild(td);
  }

  function renderKpis() {
    if (!kpiData) return;
    if (kpiData.error) {
      kpiRows.replaceChildren();
      fillBilingual(kpiNote, texts.kpiFailed);
      return;
    }
    const closure = new Map(kpiData.cases.map((r) => [r.key, r]));
    kpiRows.replaceChildren(
      ...kpiData.facilities.rows.map((r) => {
        const tr = document.createElement('tr');
        tr.setAttribute('data-area', text(r.area));
        kpiCell(tr, 'area', `${text(r.name)} ${text(r.area)}`);
        kpiCell(tr, 'facilities', String(r.facilities));
        kpiCell(tr, 'integrityRate', percent(r.integrityRate), r.integrityRate);
        kpiCell(tr, 'onlineRate', percent(r.onlineRate), r.onlineRate);
        kpiCell(tr, 'lightingRate', percent(r.lightingRate), r.lightingRate);
        const c = closure.get(r.area) || {};
        kpiCell(tr, 'closureRate', percent(c.closureRate));
        kpiCell(tr, 'onTimeClosureRate', percent(c.onTimeClosureRate));
        return tr;
      }),
    );
    if (kpiData.facilities.lightingTime) kpiNote.replaceChildren();
    else fillBilingual(kpiNote, texts.kpiDaytime);
  }

  function loadKpis() {
    Promise.all([
      session.request('GET', '/api/kpis/facilities?level=district'),
      session.request('GET', '/api/kpis?groupBy=district'),
      session.request('GET', '/api/catalog'),
    ]).then(
      ([facilities, caseKpis, catalog]) => {
        for (const [key, t] of Object.entries(catalog.kpiTargets)) {
          if (t.direction === 'min') kpiTargets[key] = t.value;
        }
        kpiData = { facilities, cases: caseKpis.rows };
        renderKpis();
      },
      () => {
        kpiData = { error: true };
        renderKpis();
      },
    );
  }

  // Read while open: on opening, then every minute.
  kpiPanel.addEventListener('toggle', () => {
    window.clearInterval(kpiTimer);
    kpiTimer = null;
    if (!kpiPanel.open) return;
    loadKpis();
    kpiTimer = window.setInterval(loadKpis, 60_000);
  });

  // ---------- login ----------

  function showLogin(show) {
    loginPanel.hidden = !show;
    mainEl.hidden = show;
    logoutButton.hidden = show;
    userNameEl.textContent =
      !show && session.me ? `${session.me.displayName} · ${session.me.role}` : '';
    newCase.hidden =
      show || !session.me || !['admin', 'operator', 'supervisor'].includes(session.me.role);
    $('admin-link').hidden = show || !session.me || session.me.role !== 'admin';
    kpiPanel.hidden =
      show ||
      !session.me ||
      !['admin', 'operator', 'supervisor', 'viewer'].includes(session.me.role);
    if (show) $('login-username').focus();
  }

  const newCase = $('new-case');
  $('new-case-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const body = {};
    for (const [key, value] of new FormData(form)) if (value !== '') body[key] = value;
    session.request('POST', '/api/cases', body).then(
      () => {
        form.reset();
        newCase.open = false;
      },
      (err) => window.alert(`${err.code || ''} ${err.message}`),
    );
  });

  loginForm.addEventListener('submit', (event) => {
    event.preventDefault();
    loginError.hidden = true;
    session.login($('login-username').value, $('login-password').value).then(
      () => {
        $('login-password').value = '';
        showLogin(false);
        startLive();
      },
      () => {
        fillBilingual(loginError, texts.loginFailed);
        loginError.hidden = false;
      },
    );
  });

  logoutButton.addEventListener('click', () => {
    session.logout().then(() => window.location.reload());
  });

  // ---------- socket ----------

  applyStaticTexts();
  render();

  if (typeof io !== 'function') {
    // The socket.io client did not load: say so instead of showing an empty, calm screen.
    disconnectedAt = new Date();
    setConnection('disconnected');
    return;
  }

  session.currentUser().then(
    (user) => {
      showLogin(!user);
      if (user) startLive();
    },
    () => showLogin(true),
  );

  function startLive() {
    // After the first snapshot, a reconnect asks only for what it missed (docs/api.md).
    const socket = io({
      transports: ['websocket', 'polling'],
      auth: (cb) => cb(hadSnapshot ? { sinceVersion: lastVersion } : {}),
    });

    socket.on('connect', () => setConnection('connected'));
    socket.on('disconnect', (reason) => {
      if (disconnectedAt === null) disconnectedAt = new Date();
      setConnection('disconnected');
      // The server closed the socket on purpose: socket.io does not reconnect by itself then.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      if (disconnectedAt === null) disconnectedAt = new Date();
      setConnection('disconnected');
      if (err && err.data && err.data.code === 'HUB_ERR_UNAUTHENTICATED') {
        socket.close();
        showLogin(true);
      }
    });

    socket.on('session:ended', (ended) => {
      // Still logged in, but the role, crew or area changed: reconnect for a fresh snapshot.
      if (ended && ended.reason === 'user_changed') {
        hadSnapshot = false;
        return;
      }
      socket.close();
      showLogin(true);
    });

    socket.on('cases:snapshot', (snapshot) => {
      const version = Number(snapshot && snapshot.version) || 0;
      const list = Array.isArray(snapshot && snapshot.cases) ? snapshot.cases : [];
      const fresh = new Map();
      for (const c of list) {
        if (c && c.id !== undefined) fresh.set(c.id, c);
      }
      // Changes that arrived before the snapshot and are newer than it win.
      for (const [id, held] of cases) {
        const inSnapshot = fresh.get(id);
        if (Number(held.version) > version) {
          if (!inSnapshot || Number(held.version) > Number(inSnapshot.version)) fresh.set(id, held);
        }
      }
      const newIds = hadSnapshot ? [...fresh.keys()].filter((id) => !cases.has(id)) : [];

      cases.clear();
      for (const [id, c] of fresh) cases.set(id, c);
      for (const id of [...rows.keys()]) {
        if (!cases.has(id)) rows.delete(id);
      }
      for (const c of cases.values()) rowFor(c);
      lastVersion = Math.max(lastVersion, version);
      hadSnapshot = true;
      render();
      // Cases created while this screen was disconnected.
      for (const id of newIds) {
        const tr = rows.get(id);
        if (tr) flash(tr, 'row-new');
      }
      touched();
    });

    socket.on('case:changed', (change) => {
      const c = change && change.case;
      if (!c || c.id === undefined) return;
      const held = cases.get(c.id);
      const version = Number(c.version);
      if (held && !(version > Number(held.version))) return;
      cases.set(c.id, c);
      lastVersion = Math.max(lastVersion, version || 0);
      if (!finalStates.has(c.state)) rowFor(c);
      render();
      const tr = rows.get(c.id);
      if (tr) flash(tr, change.reason === 'created' || !held ? 'row-new' : 'row-changed');
      touched();
    });
  }
})();
