/* global document, window, fetch, localStorage, URLSearchParams */
// The sandbox page: renders the incident channel from the Slack stand-in's state (Baton's Block Kit, as Slack
// would), sends commands and clicks through the sandbox server (which signs them as Slack does), breaks clusters, and
// fires the game-day abort alert into Alertmanager (alerts.js).
import { escapeHtml, mrkdwn, setUserNames, textObject } from './mrkdwn.js';
import { markEvacuationTables, renderSites } from './sites.js';
import { renderAlerts } from './alerts.js';
import { renderTry } from './try.js';

const POLL_MS = 700;
const $ = (id) => document.getElementById(id);

let state = null;
setUserNames((id) => state?.users.find((u) => u.id === id)?.name ?? id);
let user =
  new URLSearchParams(window.location.search).get('as') || localStorage.getItem('baton-sandbox-user');
let lastMessages = '';
let lastEphemerals = '';
let lastWorld = '';
const openThreads = new Set();

// ---- Block Kit ----------------------------------------------------------------------------------------------

function renderButton(element, message) {
  const button = document.createElement('button');
  button.type = 'button';
  button.innerHTML = textObject(element.text);
  if (element.style) button.classList.add(element.style);
  button.dataset.actionId = element.action_id;
  button.addEventListener('click', () => onButton(button, element, message));
  return button;
}

function renderBlocks(blocks, message) {
  const box = document.createElement('div');
  for (const block of blocks) {
    let node;
    switch (block.type) {
      case 'header':
        node = document.createElement('div');
        node.className = 'block-header';
        node.innerHTML = textObject(block.text);
        break;
      case 'section': {
        node = document.createElement('div');
        node.className = 'block-section';
        if (block.text) node.innerHTML = textObject(block.text);
        if (block.fields?.length) {
          const grid = document.createElement('div');
          grid.className = 'fields';
          for (const field of block.fields) {
            const cell = document.createElement('div');
            cell.innerHTML = textObject(field);
            grid.append(cell);
          }
          node.append(grid);
        }
        if (block.accessory?.type === 'button') node.append(renderButton(block.accessory, message));
        break;
      }
      case 'context':
        node = document.createElement('div');
        node.className = 'block-context';
        for (const element of block.elements ?? []) {
          const span = document.createElement('span');
          span.innerHTML = element.type === 'image' ? '' : textObject(element);
          node.append(span);
        }
        break;
      case 'divider':
        node = document.createElement('hr');
        node.className = 'block-divider';
        break;
      case 'actions':
        node = document.createElement('div');
        node.className = 'block-actions';
        node.setAttribute('role', 'group');
        for (const element of block.elements ?? []) {
          if (element.type === 'button')
            node.append(renderButton(element, { ...message, blockId: block.block_id }));
        }
        break;
      default:
        node = document.createElement('div');
        node.className = 'muted';
        node.textContent = `(a ${block.type} block)`;
    }
    box.append(node);
  }
  return box;
}

function renderContent(item, message) {
  if (item.blocks?.length) return renderBlocks(item.blocks, message);
  const div = document.createElement('div');
  div.innerHTML = mrkdwn(item.text);
  return div;
}

const timeOf = (ts) =>
  new Date(Number(ts) * 1000).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

function renderMessage(m) {
  const li = document.createElement('li');
  li.className = 'message';
  li.dataset.ts = m.ts;
  const who = document.createElement('div');
  who.innerHTML =
    `<span class="who">${escapeHtml(m.userName)}${m.bot ? '<span class="app">APP</span>' : ''}</span> ` +
    `<span class="when">${timeOf(m.ts)}</span>${m.edited ? ' <span class="edited">(edited)</span>' : ''}`;
  li.append(who, renderContent(m, { ts: m.ts, ephemeral: false }));
  if (m.replies.length) {
    const details = document.createElement('details');
    details.className = 'thread';
    details.open = openThreads.has(m.ts);
    details.addEventListener('toggle', () =>
      details.open ? openThreads.add(m.ts) : openThreads.delete(m.ts),
    );
    const summary = document.createElement('summary');
    summary.textContent = `${m.replies.length} ${m.replies.length === 1 ? 'reply' : 'replies'}`;
    details.append(summary);
    for (const r of m.replies) {
      const reply = document.createElement('div');
      reply.className = 'message reply';
      reply.innerHTML = `<span class="who">${escapeHtml(r.userName)}</span> <span class="when">${timeOf(r.ts)}</span>`;
      reply.append(renderContent(r, { ts: r.ts, ephemeral: false }));
      for (const f of r.files ?? []) {
        const file = document.createElement('details');
        file.className = 'file';
        const title = document.createElement('summary');
        title.textContent = `📄 ${f.title} (${f.name})`;
        const body = document.createElement('pre');
        body.textContent = f.content;
        file.append(title, body);
        reply.append(file);
      }
      details.append(reply);
    }
    li.append(details);
  }
  return li;
}

// ---- actions ------------------------------------------------------------------------------------------------

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(answer.error || `${path} answered ${res.status}`);
  return answer;
}

function confirmDialog(confirm) {
  const dialog = $('confirm');
  $('confirm-title').innerHTML = textObject(confirm.title);
  $('confirm-text').innerHTML = textObject(confirm.text);
  $('confirm-ok').innerHTML = textObject(confirm.confirm);
  $('confirm-ok').className = confirm.style === 'danger' ? 'danger' : 'primary';
  $('confirm-deny').innerHTML = textObject(confirm.deny) || 'Cancel';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.showModal();
  });
}

async function onButton(button, element, message) {
  if (element.confirm && !(await confirmDialog(element.confirm))) return;
  button.disabled = true;
  try {
    await post('/api/click', {
      user,
      messageTs: message.ts,
      actionId: element.action_id,
      value: element.value ?? '',
      blockId: message.blockId,
      buttonText: element.text?.text,
      ephemeral: message.ephemeral,
    });
    $('composer-error').textContent = '';
  } catch (error) {
    $('composer-error').textContent = error.message;
  } finally {
    button.disabled = false;
    refresh();
  }
}

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('command');
  const text = input.value.trim();
  if (!text) return;
  try {
    await post('/api/command', { user, text });
    input.value = '';
    $('composer-error').textContent = '';
  } catch (error) {
    $('composer-error').textContent = error.message;
  }
  refresh();
});

$('user').addEventListener('change', () => {
  user = $('user').value;
  localStorage.setItem('baton-sandbox-user', user);
  lastEphemerals = '';
  renderUser();
  refresh();
});

// ---- the world ----------------------------------------------------------------------------------------------

function control(label, action) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await action();
      $('composer-error').textContent = '';
    } catch (error) {
      $('composer-error').textContent = error.message;
    } finally {
      button.disabled = false;
      refresh();
    }
  });
  return button;
}

const clockTime = (ms) =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** What Baton recorded about the site: the open fence debt, and the newest run with its measured RPO. */
function renderRecords(world) {
  const debt = world.fenceDebt;
  const owes = debt
    ? [debt.database && 'its database read-only', debt.workloads && 'its workloads at standby size']
        .filter(Boolean)
        .join(' and ') || 'nothing more'
    : '';
  $('fence-debt').innerHTML = debt
    ? `<div class="debt" data-cluster="${escapeHtml(debt.cluster)}"><strong>🚧 Fence debt:</strong> ` +
      `${escapeHtml(debt.cluster)} still owes ${escapeHtml(owes)}, since ${clockTime(debt.since)} (run ` +
      `<code>${escapeHtml(debt.runId)}</code>: ${escapeHtml(debt.reason)}). Baton fences it the moment it answers; ` +
      `failback waits until then.${debt.lastError ? `<br><span class="muted">Last try: ${escapeHtml(debt.lastError)}</span>` : ''}</div>`
    : '';
  // Continuous readiness: the workers' last evaluation (every readiness.interval), as /failover readiness shows it.
  const ready = world.readiness;
  $('readiness').innerHTML = !ready
    ? '<span class="muted">Readiness: not evaluated yet</span>'
    : `<span data-ready="${ready.ready}" class="${ready.ready ? 'good' : 'bad'}">` +
      `${ready.ready ? '🟢 Ready' : '🔴 Not ready'} to move ${escapeHtml(ready.from)} → ${escapeHtml(ready.to)}</span>` +
      `${ready.problems.length ? `: ${escapeHtml(ready.problems.join('; '))}` : ''} ` +
      `<span class="muted">(evaluated at ${clockTime(ready.at)})</span>`;
  const run = world.lastRun;
  const rpo = run?.rpo;
  $('last-run').innerHTML = !run
    ? '<span class="muted">no run yet</span>'
    : `Run <code>${escapeHtml(run.id)}</code>: ${escapeHtml(run.kind)} ${escapeHtml(run.from)} → ` +
      `${escapeHtml(run.to)} (${escapeHtml(run.mode)}), ${escapeHtml(run.state)}.<br>` +
      (rpo
        ? `<span data-rpo="${rpo.kind}" class="${rpo.kind === 'lost' ? 'bad' : rpo.kind === 'proved' ? 'good' : ''}">` +
          `Data loss (RPO): ${escapeHtml(rpo.text)}</span> <span class="muted">— ${escapeHtml(rpo.detail)}</span>`
        : '<span class="muted">Data loss (RPO): not measured (nothing promoted)</span>');
}

function databaseText(db) {
  if (!db) return 'none (no PostgreSQL)';
  if (db.role !== 'standby') return db.role;
  const paused = db.replayPaused ? ' (replay paused)' : '';
  if (db.streaming === false) return `standby, not streaming — diverged?${paused}`;
  return `standby, ${db.lagBytes === undefined ? 'lag unknown' : `${db.lagBytes} bytes behind`}${paused}`;
}

/** The database's buttons: crash and start it, a client that ignores the fence, and the wrong and right ways back. */
function databaseControls(c) {
  const db = c.database;
  if (!db) return [];
  const primary = db.role === 'primary' || db.role === 'fenced primary';
  const oldPrimary = db.role === 'fenced primary' || db.role === 'down';
  const buttons = [
    db.role === 'down'
      ? control(`Start ${c.id}'s database`, () =>
          post('/api/break', { cluster: c.id, what: 'database', broken: false }),
        )
      : control(`Kill ${c.id}'s database`, () =>
          post('/api/break', { cluster: c.id, what: 'database', broken: true }),
        ),
  ];
  if (primary)
    buttons.push(control(`Write on ${c.id} anyway`, () => post('/api/write-anyway', { cluster: c.id })));
  if (db.role === 'standby')
    buttons.push(
      db.replayPaused
        ? control(`Resume replay on ${c.id}`, () =>
            post('/api/break', { cluster: c.id, what: 'lag', broken: false }),
          )
        : control(`Add DB lag on ${c.id}`, () =>
            post('/api/break', { cluster: c.id, what: 'lag', broken: true }),
          ),
    );
  if (oldPrimary)
    buttons.push(
      control(`Rejoin ${c.id} as a standby (no rewind)`, () =>
        post('/api/rejoin-standby', { cluster: c.id }),
      ),
    );
  if (oldPrimary || (db.role === 'standby' && db.streaming === false))
    buttons.push(
      control(`Rebuild ${c.id}'s database as a standby`, () =>
        post('/api/rebuild-standby', { cluster: c.id }),
      ),
    );
  return buttons;
}

/** A workload's row: its replicas, the HPA on it (range live, held by Baton or not), and how Argo CD manages it. */
function workloadRow(w) {
  const notes = [];
  if (w.hpa)
    notes.push(
      `<span class="hpa" data-hpa="${escapeHtml(w.hpa.name)}">HPA ${escapeHtml(w.hpa.name)}: min ${w.hpa.minReplicas}, ` +
        `max ${w.hpa.maxReplicas}${w.hpa.held ? ' (held by Baton)' : ''}</span>`,
    );
  if (w.gitOps)
    notes.push(
      `<span class="gitops${w.gitOps.reverts ? ' bad' : ''}">Argo CD ${escapeHtml(w.gitOps.app)}; Git: ` +
        `${escapeHtml(w.gitOps.git)}</span>`,
    );
  return (
    `<dt>${escapeHtml(w.name)}</dt><dd data-workload="${escapeHtml(w.name)}">${w.readyReplicas}/${w.replicas} ready` +
    (notes.length ? `<br><small>${notes.join('<br>')}</small>` : '') +
    '</dd>'
  );
}

/** GitOps self-heal on a cluster an Argo CD Application manages: on (with the fix), and the fix taken away. */
function selfHealSwitch(c) {
  const box = document.createElement('div');
  box.className = 'self-heal';
  const toggle = (label, checked, disabled, mode) => {
    const wrap = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = checked;
    input.disabled = disabled;
    input.addEventListener('change', async () => {
      input.disabled = true;
      try {
        await post('/api/self-heal', { cluster: c.id, mode: mode(input.checked) });
        $('composer-error').textContent = '';
      } catch (error) {
        $('composer-error').textContent = error.message;
      } finally {
        refresh();
      }
    });
    wrap.append(input, ` ${label}`);
    return wrap;
  };
  const on = c.selfHeal !== 'off';
  box.append(
    toggle(`GitOps self-heal on ${c.id}`, on, false, (checked) => (checked ? 'on' : 'off')),
    toggle(
      '… without the fix (Git sets replicas, not ignored)',
      c.selfHeal === 'on-without-fix',
      !on,
      (checked) => (checked ? 'on-without-fix' : 'on'),
    ),
  );
  return box;
}

function renderWorld(world) {
  $('dns').innerHTML =
    `<strong>${escapeHtml(world.record)}</strong> → ${escapeHtml(world.dnsAnswer.join(', ') || 'no answer')}` +
    (world.servedBy ? ` (<span class="good">${escapeHtml(world.servedBy)}</span> serves)` : '');
  renderRecords(world);
  const box = $('clusters');
  box.replaceChildren();
  for (const c of world.clusters) {
    const card = document.createElement('div');
    card.className = `cluster${c.serving ? ' serving' : ''}`;
    card.dataset.cluster = c.id;
    const db = c.database;
    const write = db?.lastWrite;
    const cls = (good) => (good ? 'good' : 'bad');
    card.innerHTML =
      `<h4>${escapeHtml(c.id)}${c.home ? ' (home)' : ''}${c.serving ? ' — serving' : ''}</h4><dl>` +
      `<dt>health</dt><dd class="${cls(c.health === 'up')}">${c.health}</dd>` +
      `<dt>API</dt><dd class="${cls(c.api === 'up')}">${c.api}</dd>` +
      `<dt>nodes</dt><dd>${c.nodesReady} ready</dd>` +
      c.workloads.map(workloadRow).join('') +
      `<dt>database</dt><dd data-role="${db ? db.role : 'none'}"` +
      `${db?.streaming === undefined ? '' : ` data-streaming="${db.streaming}"`}` +
      `${db?.streaming === false ? ' class="bad"' : ''}>${escapeHtml(databaseText(db))}</dd></dl>` +
      (write
        ? `<p class="write-result ${cls(!write.committed)}" data-committed="${write.committed}">` +
          `Write on ${escapeHtml(c.id)} anyway at ${clockTime(write.at)}: ${escapeHtml(write.detail)}</p>`
        : '');
    const controls = document.createElement('div');
    controls.className = 'controls';
    controls.append(
      c.health === 'up'
        ? control(`Stop ${c.id}'s health endpoint`, () =>
            post('/api/break', { cluster: c.id, what: 'health', broken: true }),
          )
        : control(`Start ${c.id}'s health endpoint`, () =>
            post('/api/break', { cluster: c.id, what: 'health', broken: false }),
          ),
      c.api === 'up'
        ? control(`Break ${c.id}'s API`, () =>
            post('/api/break', { cluster: c.id, what: 'api', broken: true }),
          )
        : control(`Repair ${c.id}'s API`, () =>
            post('/api/break', { cluster: c.id, what: 'api', broken: false }),
          ),
      ...databaseControls(c),
    );
    card.append(controls);
    if (c.selfHeal) card.append(selfHealSwitch(c));
    box.append(card);
  }
  renderAlerts($('alerts'), $('alert-controls'), world, state.abortOn ?? [], { control, post });
}

function renderUser() {
  const me = state?.users.find((u) => u.id === user);
  $('user-about').textContent = me ? me.about : '';
}

// ---- polling ------------------------------------------------------------------------------------------------

function render() {
  const select = $('user');
  if (!select.options.length) {
    for (const u of state.users) select.append(new window.Option(`${u.name} (${u.role})`, u.id));
    if (!state.users.some((u) => u.id === user)) user = state.users[0].id;
    select.value = user;
    $('users').innerHTML = state.users
      .map(
        (u) => `<li><strong>${escapeHtml(u.name)}</strong> <code>${u.id}</code>: ${escapeHtml(u.about)}</li>`,
      )
      .join('');
    renderUser();
  }
  $('channel-name').textContent = `#${state.channel.name}`;
  const more = (state.sites?.length ?? 1) - 1;
  $('site-line').textContent = `site ${state.site}${more > 0 ? ` and ${more} more` : ''}`;
  renderSites($('sites'), state.sites ?? [], {
    control,
    send: (text) => post('/api/command', { user, text }),
  });
  $('notes').innerHTML = state.notes.map((n) => `<p class="muted">${escapeHtml(n)}</p>`).join('');
  renderTry($('try'), $('command'), state);

  const messages = JSON.stringify(state.messages);
  if (messages !== lastMessages) {
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...state.messages.map(renderMessage));
    markEvacuationTables(list);
    if (atBottom) list.scrollTop = list.scrollHeight;
    lastMessages = messages;
  }
  const ephemerals = JSON.stringify(state.ephemerals);
  if (ephemerals !== lastEphemerals) {
    const box = $('ephemerals');
    box.replaceChildren(
      ...state.ephemerals.slice(-5).map((e) => {
        const div = document.createElement('div');
        div.className = 'ephemeral';
        div.innerHTML = `<div class="only">Only visible to you · ${timeOf(e.ts)}</div>`;
        div.append(renderContent(e, { ts: e.ts, ephemeral: true }));
        return div;
      }),
    );
    box.scrollTop = box.scrollHeight;
    lastEphemerals = ephemerals;
  }
  const world = JSON.stringify(state.world);
  if (world !== lastWorld) {
    renderWorld(state.world);
    lastWorld = world;
  }
}

let timer = null;
async function refresh() {
  if (timer) clearTimeout(timer);
  try {
    const res = await fetch(`/api/state?user=${encodeURIComponent(user ?? '')}`);
    state = await res.json();
    render();
    document.body.dataset.ready = 'true';
  } catch (error) {
    $('composer-error').textContent =
      `The sandbox does not answer (${error.message}). Is npm run sandbox still running?`;
  }
  timer = setTimeout(refresh, POLL_MS);
}

refresh();
