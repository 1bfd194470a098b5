/* global document */
// Commands to try, under the composer: each fills the input (Send posts it), so a newcomer finds what Baton can
// do without reading the docs first: a dry run, readiness, a game day, the history with RTO and RPO, and, with
// several sites, the evacuation of the cluster that serves them.

/** The suggestions for this sandbox: `site` is the first site, `serving` the cluster serving it, `sites` the count. */
export function suggestions({ site, serving, sites }) {
  const list = [
    ['/failover --dry-run', 'the plan, changing nothing'],
    [`/failover readiness ${site}`, 'the last readiness evaluation'],
    [`/failover drill ${site} --hold 1m`, 'a game day: fail over, hold, fail back'],
    [`/failover history ${site}`, 'past runs with RTO and RPO'],
    ['/failover status', 'what serves where'],
  ];
  if (sites > 1 && serving)
    list.push([`/failover --cluster ${serving}`, `evacuate every site ${serving} serves`]);
  return list;
}

let shown = '';

/** Renders the suggestions into `container`; a click puts the command into `input`. */
export function renderTry(container, input, state) {
  const serving = state.world?.clusters?.find((c) => c.serving)?.id ?? '';
  const list = suggestions({ site: state.site, serving, sites: state.sites?.length ?? 1 });
  const key = JSON.stringify(list);
  if (key === shown) return;
  shown = key;
  const label = document.createElement('span');
  label.className = 'muted';
  label.textContent = 'Try:';
  container.replaceChildren(
    label,
    ...list.map(([command, about]) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'try';
      button.textContent = command;
      button.title = about;
      button.addEventListener('click', () => {
        input.value = command;
        input.focus();
      });
      return button;
    }),
  );
}
