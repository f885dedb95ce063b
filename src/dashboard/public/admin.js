// The admin page: users, crews and the dispatch routing table through the admin REST API
// (docs/api.md, "Administration"). Plain browser JavaScript, no build step; Chinese first.
(() => {
  'use strict';

  const session = window.hubSession;
  const $ = (id) => document.getElementById(id);

  const roles = {
    admin: ['管理员', 'Admin'],
    operator: ['坐席员', 'Operator'],
    supervisor: ['监督员', 'Supervisor'],
    crew: ['处置员', 'Crew'],
    viewer: ['查看', 'Viewer'],
  };
  // Facility types of src/domain/facilities.ts; '' is "any type" in a route.
  const types = {
    '': ['任意类型', 'Any type'],
    streetlight: ['路灯', 'Streetlight'],
    manhole: ['井盖', 'Manhole cover'],
    pump_station: ['排水泵站', 'Drainage pump station'],
    waterlogging: ['积水点', 'Waterlogging point'],
    gas: ['燃气调压设施', 'Gas regulator'],
    dust_noise: ['扬尘噪声监测', 'Dust & noise monitor'],
    elevator: ['电梯', 'Elevator'],
  };

  let crews = [];
  let departments = [];

  const bilingual = ([zh, en]) => `${zh} / ${en}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c === null || c === undefined ? '' : c);
    return node;
  }

  function notify(text, isError) {
    const n = $('notice');
    n.textContent = text;
    n.dataset.kind = isError ? 'error' : 'ok';
  }

  /** Runs an API call; an error shows its code and message, never a blank page. */
  async function run(what, fn) {
    try {
      const out = await fn();
      notify(`✓ ${what}`, false);
      return out;
    } catch (err) {
      notify(`✗ ${what}: ${err.code || ''} ${err.message}`, true);
      if (err.status === 401) showLogin();
      return undefined;
    }
  }

  function options(select, entries, selected) {
    select.replaceChildren(
      ...entries.map(([value, label]) => {
        const o = el('option', { value }, label);
        if (value === selected) o.selected = true;
        return o;
      }),
    );
  }

  const crewOptions = (withNone) => [
    ...(withNone ? [['', '— / none']] : []),
    ...crews.map((c) => [c.id, `${c.name} (${c.id})`]),
  ];

  function fillSelects() {
    for (const s of document.querySelectorAll('.role-select')) {
      options(
        s,
        Object.entries(roles).map(([k, v]) => [k, bilingual(v)]),
        'operator',
      );
    }
    for (const s of document.querySelectorAll('.type-select')) {
      options(
        s,
        Object.entries(types).map(([k, v]) => [k, bilingual(v)]),
        '',
      );
    }
    for (const s of document.querySelectorAll('.department-select')) {
      options(
        s,
        departments.map((d) => [d.id, `${d.name} (${d.id})`]),
      );
    }
    for (const s of document.querySelectorAll('form .crew-select')) {
      options(s, crewOptions(s.closest('#user-form') !== null));
    }
  }

  async function loadUsers() {
    const { users } = await session.request('GET', '/api/users');
    $('user-rows').replaceChildren(
      ...users.map((u) => {
        const role = el('select', {
          'aria-label': 'role',
          onchange: () => patchUser(u, { role: role.value }),
        });
        options(
          role,
          Object.entries(roles).map(([k, v]) => [k, bilingual(v)]),
          u.role,
        );
        const crew = el('select', {
          'aria-label': 'crew',
          onchange: () => patchUser(u, { crewId: crew.value || null }),
        });
        options(crew, crewOptions(true), u.crewId || '');
        crew.disabled = u.role !== 'crew';
        const toggle = u.enabled
          ? el(
              'button',
              { type: 'button', dataset: { act: 'disable' }, onclick: () => setEnabled(u, false) },
              '停用 Disable',
            )
          : el(
              'button',
              { type: 'button', dataset: { act: 'enable' }, onclick: () => setEnabled(u, true) },
              '启用 Enable',
            );
        const reset = el(
          'button',
          { type: 'button', dataset: { act: 'reset' }, onclick: () => resetPassword(u) },
          '重置密码 Reset password',
        );
        return el(
          'tr',
          { dataset: { username: u.username, enabled: String(u.enabled) } },
          el('td', { class: 'code' }, u.username),
          el('td', {}, u.displayName),
          el('td', {}, role),
          el('td', {}, crew),
          el('td', {}, u.enabled ? '启用 Enabled' : '停用 Disabled'),
          el('td', { class: 'row-actions' }, toggle, ' ', reset),
        );
      }),
    );
  }

  async function patchUser(u, patch) {
    // Becoming a crew user needs a crew: take the first one; the admin can change it after.
    if (patch.role === 'crew' && !u.crewId && crews[0]) patch.crewId = crews[0].id;
    await run(`${u.username}: 已更新 updated`, () =>
      session.request('PATCH', `/api/users/${u.id}`, patch),
    );
    await loadUsers();
  }

  async function setEnabled(u, enabled) {
    const verb = enabled ? 'enable' : 'disable';
    await run(
      `${u.username}: ${enabled ? '已启用 enabled' : '已停用，会话已结束 disabled, sessions ended'}`,
      () => session.request('POST', `/api/users/${u.id}/${verb}`),
    );
    await loadUsers();
  }

  async function resetPassword(u) {
    const password = window.prompt(`${u.username}: 新密码（至少 10 位）/ New password (≥ 10)`);
    if (!password) return;
    await run(`${u.username}: 密码已重置，会话已结束 password reset, sessions ended`, () =>
      session.request('POST', `/api/users/${u.id}/password`, { password }),
    );
    await loadUsers();
  }

  async function loadCrews() {
    [{ crews }, { departments }] = await Promise.all([
      session.request('GET', '/api/crews'),
      session.request('GET', '/api/departments'),
    ]);
    $('crew-rows').replaceChildren(
      ...crews.map((c) =>
        el(
          'tr',
          { dataset: { crewId: c.id } },
          el('td', { class: 'code' }, c.id),
          el('td', {}, c.name),
          el('td', {}, c.departmentName),
          el(
            'td',
            { class: 'row-actions' },
            el(
              'button',
              { type: 'button', dataset: { act: 'delete' }, onclick: () => deleteCrew(c) },
              '删除 Delete',
            ),
          ),
        ),
      ),
    );
    fillSelects();
  }

  async function deleteCrew(c) {
    if (!window.confirm(`删除班组 Delete crew ${c.id}?`)) return;
    await run(`${c.id}: 已删除 deleted`, () => session.request('DELETE', `/api/crews/${c.id}`));
    await loadCrews();
  }

  async function loadRoutes() {
    const { routes } = await session.request('GET', '/api/dispatch-routes');
    const crewName = new Map(crews.map((c) => [c.id, c.name]));
    const deptName = new Map(departments.map((d) => [d.id, d.name]));
    $('route-rows').replaceChildren(
      ...routes.map((r) =>
        el(
          'tr',
          { dataset: { routeId: String(r.id) } },
          el('td', {}, bilingual(types[r.facilityType || ''] || [r.facilityType, r.facilityType])),
          el('td', { class: 'code' }, r.areaPrefix || '全市 city'),
          el('td', {}, deptName.get(r.departmentId) || r.departmentId),
          el('td', {}, r.crewId ? crewName.get(r.crewId) || r.crewId : '—'),
          el(
            'td',
            { class: 'row-actions' },
            el(
              'button',
              { type: 'button', dataset: { act: 'delete' }, onclick: () => deleteRoute(r) },
              '删除 Delete',
            ),
          ),
        ),
      ),
    );
  }

  async function deleteRoute(r) {
    await run(`路由 route ${r.id}: 已删除 deleted`, () =>
      session.request('DELETE', `/api/dispatch-routes/${r.id}`),
    );
    await loadRoutes();
  }

  const severities = {
    critical: ['紧急', 'Critical'],
    major: ['重要', 'Major'],
    minor: ['一般', 'Minor'],
    warning: ['提示', 'Warning'],
  };

  // Calendar minutes run round the clock; working minutes only in WORKING_HOURS (docs/cases.md).
  const units = { calendar: ['自然时间', 'Calendar'], working: ['工作时间', 'Working'] };

  const numberInput = (value, label) =>
    el('input', { type: 'number', min: '1', step: '1', value: String(value), 'aria-label': label });

  async function loadDeadlines() {
    const { deadlines } = await session.request('GET', '/api/case-deadlines');
    $('deadline-rows').replaceChildren(
      ...deadlines.map((d) => {
        const accept = numberInput(d.acceptMinutes, 'accept minutes');
        const handle = numberInput(d.handleMinutes, 'handle minutes');
        const unit = el('select', { 'aria-label': 'unit' });
        options(
          unit,
          Object.entries(units).map(([k, v]) => [k, bilingual(v)]),
          d.unit,
        );
        const source = el('input', { value: d.source, 'aria-label': 'source' });
        const save = el(
          'button',
          {
            type: 'button',
            dataset: { act: 'save' },
            onclick: async () => {
              await run(`时限已保存 deadline saved`, () =>
                session.request('PATCH', `/api/case-deadlines/${d.id}`, {
                  acceptMinutes: Number(accept.value),
                  handleMinutes: Number(handle.value),
                  unit: unit.value,
                  source: source.value,
                }),
              );
              await loadDeadlines();
            },
          },
          '保存 Save',
        );
        return el(
          'tr',
          { dataset: { deadlineId: String(d.id) } },
          el('td', {}, bilingual(severities[d.severity] || [d.severity, d.severity])),
          el('td', {}, bilingual(types[d.facilityType || ''] || [d.facilityType, d.facilityType])),
          el('td', {}, accept),
          el('td', {}, handle),
          el('td', {}, unit),
          el('td', {}, source),
          el('td', { class: 'row-actions' }, save),
        );
      }),
    );
  }

  async function loadPolicies() {
    const { policies } = await session.request('GET', '/api/rule-case-policies');
    $('policy-rows').replaceChildren(
      ...policies.map((p) => {
        const openCase = el('input', { type: 'checkbox', 'aria-label': 'open a case' });
        openCase.checked = p.openCase;
        const after = el('input', {
          type: 'number',
          min: '1',
          step: '1',
          value: p.autoVerifyAfterMinutes === null ? '' : String(p.autoVerifyAfterMinutes),
          placeholder: '— 人工核查 / supervisor',
          'aria-label': 'auto-verify minutes',
        });
        const save = el(
          'button',
          {
            type: 'button',
            dataset: { act: 'save' },
            onclick: async () => {
              await run(`${p.ruleId}: 已保存 saved`, () =>
                session.request('PUT', `/api/rule-case-policies/${encodeURIComponent(p.ruleId)}`, {
                  openCase: openCase.checked,
                  autoVerifyAfterMinutes: after.value ? Number(after.value) : null,
                }),
              );
              await loadPolicies();
            },
          },
          '保存 Save',
        );
        return el(
          'tr',
          { dataset: { ruleId: p.ruleId, custom: String(p.custom) } },
          el('td', {}, el('span', { class: 'code' }, p.ruleId), ' ', p.title || ''),
          el('td', {}, openCase),
          el('td', {}, after),
          el('td', { class: 'row-actions' }, save),
        );
      }),
    );
  }

  const formData = (form) => Object.fromEntries(new FormData(form).entries());

  $('user-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = formData(event.target);
    const body = { username: f.username, role: f.role, password: f.password };
    if (f.displayName) body.displayName = f.displayName;
    if (f.role === 'crew') body.crewId = f.crewId;
    const ok = await run(`${f.username}: 已创建 created`, () =>
      session.request('POST', '/api/users', body),
    );
    if (ok) event.target.reset();
    fillSelects();
    await loadUsers();
  });

  $('crew-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = formData(event.target);
    const ok = await run(`${f.id}: 已创建 created`, () => session.request('POST', '/api/crews', f));
    if (ok) event.target.reset();
    await loadCrews();
  });

  $('route-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = formData(event.target);
    await run('路由已创建 route created', () =>
      session.request('POST', '/api/dispatch-routes', {
        facilityType: f.facilityType || null,
        areaPrefix: f.areaPrefix,
        crewId: f.crewId,
      }),
    );
    await loadRoutes();
  });

  $('resolve-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = formData(event.target);
    const q = new window.URLSearchParams();
    if (f.type) q.set('type', f.type);
    if (f.grid) q.set('grid', f.grid);
    const out = await run('试算 resolved', () =>
      session.request('GET', `/api/dispatch-routes/resolve?${q}`),
    );
    if (!out) return;
    const who = out.crew
      ? `${out.crew.name} (${out.crew.id})`
      : out.department
        ? out.department.name
        : '—';
    $('resolve-result').textContent = `→ ${who}. ${out.reason}`;
  });

  function showLogin(message) {
    $('main').hidden = true;
    $('login-panel').hidden = false;
    const error = $('login-error');
    error.hidden = !message;
    error.textContent = message || '';
  }

  async function start() {
    const me = session.me;
    if (!me || me.role !== 'admin') {
      showLogin(me ? '需要管理员角色 / Needs the admin role' : '');
      return;
    }
    $('login-panel').hidden = true;
    $('main').hidden = false;
    $('user-name').textContent = `${me.displayName} · ${bilingual(roles.admin)}`;
    await loadCrews();
    await Promise.all([loadUsers(), loadRoutes(), loadDeadlines(), loadPolicies()]);
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    session
      .login($('login-username').value, $('login-password').value)
      .then(start, () => showLogin('用户名或密码错误 / Wrong username or password'));
  });

  session.currentUser().then(
    (user) => (user ? start() : showLogin('')),
    () => showLogin(''),
  );
})();
