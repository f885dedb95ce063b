// A crew's phone: its own cases arrive over socket.io (the server sends a crew only its crew's
// cases); accept, return, and report handled with a note and a photo. Server data reaches the DOM
// through textContent only.
(() => {
  'use strict';

  const session = window.hubSession;
  const $ = (id) => document.getElementById(id);
  const list = $('crew-cases');
  const cases = new Map();
  let lastVersion = 0;
  let hadSnapshot = false;

  const stateLabels = {
    registered: '立案 registered',
    dispatched: '待签收 dispatched',
    in_handling: '处置中 in handling',
    handled: '已反馈 handled',
    verified: '已核查 verified',
    closed: '结案 closed',
    returned: '退回 returned',
    deferred: '缓办 deferred',
    cancelled: '作废 cancelled',
  };
  const finalStates = new Set(['closed', 'cancelled', 'verified']);

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function when(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return `${d.getMonth() + 1}-${d.getDate()} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }

  async function reportHandled(c, card) {
    const note = card.querySelector('textarea').value.trim();
    if (!note) {
      card.querySelector('textarea').focus();
      return;
    }
    const file = card.querySelector('input[type=file]').files[0];
    const photoIds = [];
    if (file) {
      const form = new FormData();
      form.append('photo', file);
      photoIds.push((await session.request('POST', `/api/cases/${c.id}/photos`, form)).id);
    }
    await session.act(c, 'handle', { note, photoIds });
  }

  function card(c) {
    const article = el('article', 'crew-case');
    article.setAttribute('data-case-code', c.code);
    article.setAttribute('data-state', c.state);
    article.setAttribute('data-severity', c.severity);
    article.append(el('div', 'code', c.code), el('h2', 'title', c.title));
    article.append(el('div', 'state', stateLabels[c.state] || c.state));
    article.append(
      el('div', 'where', [c.location, c.gridCode, c.deviceId].filter(Boolean).join(' · ')),
    );
    article.append(
      el('div', 'due', `时限 Due ${when(c.dueAt)}${c.overdue ? ' · 超期 overdue' : ''}`),
    );
    const actions = session.actionsFor(c);
    if (actions.includes('handle')) {
      const note = el('textarea');
      note.placeholder = '处置说明 / What was done';
      const photo = el('input');
      photo.type = 'file';
      photo.accept = 'image/jpeg,image/png,image/webp';
      photo.setAttribute('capture', 'environment');
      article.append(note, photo);
    }
    const bar = el('div', 'actions');
    for (const action of actions) {
      const [zh, en] = session.label(action);
      const button = el('button', 'action', `${zh} ${en}`);
      button.type = 'button';
      button.setAttribute('data-action', action);
      button.addEventListener('click', () => {
        button.disabled = true;
        const run = action === 'handle' ? reportHandled(c, article) : session.act(c, action);
        Promise.resolve(run)
          .catch((err) => window.alert(`${err.code || ''} ${err.message}`))
          .finally(() => (button.disabled = false));
      });
      bar.append(button);
    }
    article.append(bar);
    return article;
  }

  function render() {
    const open = [...cases.values()]
      .filter((c) => !finalStates.has(c.state) && c.crewId === (session.me && session.me.crewId))
      .sort((a, b) => Number(b.id) - Number(a.id));
    list.replaceChildren(...open.map(card));
    $('empty').hidden = open.length > 0;
  }

  function setConnection(connected) {
    $('connection').setAttribute('data-state', connected ? 'connected' : 'disconnected');
    $('connection').querySelector('.conn-text').textContent = connected
      ? '已连接 connected'
      : '连接中断 disconnected';
  }

  function startLive() {
    $('login-panel').hidden = true;
    $('main').hidden = false;
    $('user-name').textContent = `${session.me.displayName} · ${session.me.crewId || ''}`;
    const socket = io({
      transports: ['websocket', 'polling'],
      auth: (cb) => cb(hadSnapshot ? { sinceVersion: lastVersion } : {}),
    });
    socket.on('connect', () => setConnection(true));
    socket.on('disconnect', (reason) => {
      setConnection(false);
      // The server closed the socket on purpose: socket.io does not reconnect by itself then.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      setConnection(false);
      if (err && err.data && err.data.code === 'HUB_ERR_UNAUTHENTICATED') socket.close();
    });
    socket.on('session:ended', (ended) => {
      // Still logged in, but moved to another crew: reconnect for that crew's snapshot.
      if (ended && ended.reason === 'user_changed') {
        hadSnapshot = false;
        return;
      }
      socket.close();
      $('main').hidden = true;
      $('login-panel').hidden = false;
    });
    socket.on('cases:snapshot', (snapshot) => {
      cases.clear();
      for (const c of snapshot.cases || []) cases.set(c.id, c);
      lastVersion = Math.max(lastVersion, Number(snapshot.version) || 0);
      hadSnapshot = true;
      render();
    });
    socket.on('case:changed', (change) => {
      const c = change && change.case;
      if (!c) return;
      const held = cases.get(c.id);
      if (held && !(Number(c.version) > Number(held.version))) return;
      cases.set(c.id, c);
      lastVersion = Math.max(lastVersion, Number(c.version) || 0);
      render();
    });
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    $('login-error').hidden = true;
    session.login($('login-username').value, $('login-password').value).then(startLive, () => {
      $('login-error').hidden = false;
    });
  });

  session.currentUser().then(
    (user) => {
      if (user) startLive();
      else $('login-panel').hidden = false;
    },
    () => ($('login-panel').hidden = false),
  );
})();
