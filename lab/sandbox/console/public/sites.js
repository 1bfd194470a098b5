/* global document */
// A sandbox with several sites (npm run sandbox -- --sites N): where DNS sends each site's record now, a button that
// proposes moving every site off the home cluster (or bringing them all home) in one evacuation message, and that
// message's table kept one line per site so twenty rows stay legible.

const escapeHtml = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

let last = '';
let listOpen = false;

/** The evacuation to propose now: off the home cluster while most sites are on it, else back home. */
export function evacuationCommand(sites) {
  const home = sites[0]?.home ?? 'east';
  const atHome = sites.filter((s) => s.servedBy === home).length;
  return atHome * 2 >= sites.length ? `/failover --cluster ${home}` : `/failback --cluster ${home}`;
}

/**
 * Renders `sites` into `box` (hidden with one site); `control(label, action)` makes a button as the page's other
 * controls are made, and `send(text)` types a command as the selected user.
 */
export function renderSites(box, sites, { control, send }) {
  const json = JSON.stringify(sites);
  if (json === last) return;
  last = json;
  if (!sites || sites.length < 2) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  const counts = {};
  for (const s of sites) counts[s.servedBy ?? 'no answer'] = (counts[s.servedBy ?? 'no answer'] ?? 0) + 1;
  const summary = Object.entries(counts)
    .map(([cluster, n]) => `${escapeHtml(cluster)} serves ${n}`)
    .join(', ');
  const command = evacuationCommand(sites);
  const head = document.createElement('p');
  head.innerHTML = `<strong>${sites.length} sites</strong>: ${summary}.`;
  const list = document.createElement('details');
  list.open = listOpen;
  list.addEventListener('toggle', () => (listOpen = list.open));
  list.innerHTML =
    `<summary>Each site's record</summary><table class="sites"><tbody>` +
    sites
      .map(
        (s) =>
          `<tr data-site="${escapeHtml(s.name)}"><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.record)}</td>` +
          `<td class="${s.servedBy === s.home ? '' : 'bad'}">${escapeHtml(s.servedBy ?? 'no answer')}</td></tr>`,
      )
      .join('') +
    '</tbody></table>';
  const propose = control(`Propose ${command}`, () => send(command));
  propose.dataset.evacuate = command;
  const hint = document.createElement('p');
  hint.className = 'muted';
  hint.textContent = `As the selected user: one message proposes every site, with a live table (or type ${command}).`;
  // Each site's run posts its own message too, so the evacuation's one message soon scrolls out of sight.
  const jump = document.createElement('button');
  jump.type = 'button';
  jump.textContent = 'Show the evacuation message';
  jump.addEventListener('click', () => {
    const shown = [...document.querySelectorAll('.message.evacuation')].pop();
    if (shown) shown.scrollIntoView({ block: 'start' });
    else hint.textContent = `No evacuation message yet: click Propose ${command} first.`;
  });
  box.replaceChildren(head, propose, jump, hint, list);
}

/** Marks evacuation messages, whose table (a code block per 25 sites) must keep one line per site. */
export function markEvacuationTables(list) {
  for (const header of list.querySelectorAll('.message > div > .block-header')) {
    if (/Evacuation /.test(header.textContent)) header.closest('.message')?.classList.add('evacuation');
  }
}
