/* global document */
// The Alerts panel: what Prometheus's rules fire, what this page fired into Alertmanager, and a button per alert of
// the topology's drills.abortOn that fires it (as an application's rule would; a game day under way is aborted before
// its point of no return) or resolves it.

/** One line per alert; `firedBy: 'sandbox'` marks the ones this page fired, which Alertmanager holds. */
function alertLine(a) {
  const li = document.createElement('li');
  li.dataset.alert = a.alertname;
  li.textContent =
    `${a.alertname}${a.cluster ? ` (${a.cluster})` : ''}: ${a.state}` +
    (a.firedBy === 'sandbox' ? ' — fired from this page, held by Alertmanager' : '');
  return li;
}

/**
 * Renders `world.alerts` into `list` and the abortOn buttons into `box`; `control(label, action)` makes a button as
 * the page's other controls are made, `post(path, body)` calls the sandbox server.
 */
export function renderAlerts(list, box, world, abortOn, { control, post }) {
  list.replaceChildren(...world.alerts.map(alertLine));
  if (!world.monitoring)
    list.innerHTML = '<li class="muted">Prometheus and Alertmanager are not running</li>';
  else if (!world.alerts.length) list.innerHTML = '<li class="muted">none</li>';
  if (!world.monitoring) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    ...abortOn.map((alertname) =>
      world.alerts.some((a) => a.alertname === alertname && a.firedBy === 'sandbox')
        ? control(`Resolve ${alertname}`, () => post('/api/alert', { alertname, firing: false }))
        : control(`Fire ${alertname} (aborts a game day)`, () =>
            post('/api/alert', { alertname, firing: true }),
          ),
    ),
  );
}
