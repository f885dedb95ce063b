// Login, the current user, the workflow table and case actions; shared by the control room
// (index.html) and the crew phone page (crew.html). Plain browser JavaScript, no build step.
// The session is an HttpOnly cookie: this script never sees the token.
(() => {
  'use strict';

  async function request(method, url, body) {
    // X-Hub-Request: the CSRF proof of a cookie-borne change (docs/api.md, "Auth").
    const init = { method, credentials: 'same-origin', headers: { 'x-hub-request': '1' } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error(data.message || res.statusText);
      err.status = res.status;
      err.code = data.code;
      throw err;
    }
    return data;
  }

  let workflow = null;

  const hub = {
    me: null,
    request,
    async currentUser() {
      try {
        hub.me = (await request('GET', '/api/auth/me')).user;
      } catch (err) {
        if (err.status === 401) hub.me = null;
        else throw err;
      }
      if (hub.me && !workflow) workflow = (await request('GET', '/api/workflow')).transitions;
      return hub.me;
    },
    async login(username, password) {
      const { user } = await request('POST', '/api/auth/login', { username, password });
      hub.me = user;
      workflow = (await request('GET', '/api/workflow')).transitions;
      return user;
    },
    async logout() {
      await request('POST', '/api/auth/logout').catch(() => {});
      hub.me = null;
    },
    /** Actions the current user may take on a case, from the server's transition table. */
    actionsFor(c) {
      if (!hub.me || !workflow) return [];
      const role = hub.me.role;
      if (role === 'crew' && c.crewId !== hub.me.crewId) return [];
      return Object.keys(workflow).filter((a) => {
        const t = workflow[a];
        // An admin on these screens acts as the control room, not as a crew.
        const allowed =
          role === 'admin' ? t.roles.some((r) => r !== 'crew') : t.roles.includes(role);
        return a !== 'comment' && allowed && t.from.includes(c.state);
      });
    },
    label(action) {
      return workflow && workflow[action] ? [workflow[action].zh, action] : [action, action];
    },
    /** Asks for what the action needs (reason, note, hours), then posts it. */
    async act(c, action, extra) {
      const t = workflow[action];
      const body = Object.assign({}, extra);
      if (t.requires === 'reason' && !body.reason) {
        body.reason = window.prompt('原因 / Reason') || '';
        if (!body.reason) return null;
      }
      if (t.requires === 'note' && !body.note) {
        body.note = window.prompt('说明 / Note') || '';
        if (!body.note) return null;
      }
      if ((action === 'reassign' || action === 'dispatch') && !body.crewId) {
        const { crews } = await request('GET', '/api/crews');
        const choice = window.prompt(
          '班组 / Crew (空白：按派遣表 / empty: routing table)\n' +
            crews.map((x) => `${x.id}  ${x.name}`).join('\n'),
          '',
        );
        if (choice === null) return null;
        if (choice.trim()) body.crewId = choice.trim();
      }
      if (t.requires === 'hours' && !body.hours) {
        body.hours = Number(window.prompt('延期小时数 / Hours', '24')) || 0;
        if (!body.hours) return null;
      }
      return (await request('POST', `/api/cases/${c.id}/actions/${action}`, body)).case;
    },
  };

  window.hubSession = hub;
})();
