// Slack's mrkdwn as the sandbox page shows it (links, mentions, dates, code, quotes, bold, italic, strike, emoji),
// as Slack renders Baton's text; split from console.js, which draws the channel with it.

const EMOJI = {
  white_check_mark: '✅',
  x: '❌',
  warning: '⚠️',
  hourglass_flowing_sand: '⏳',
  rotating_light: '🚨',
  large_green_circle: '🟢',
  red_circle: '🔴',
  no_entry: '⛔',
};
export const escapeHtml = (s) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const decodeSlack = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Slack user id → display name; the page sets it once it knows the workspace's users. */
let userName = (id) => id;
export function setUserNames(lookup) {
  userName = lookup;
}

function formatDate(seconds, format, fallback) {
  const d = new Date(Number(seconds) * 1000);
  if (Number.isNaN(d.getTime())) return escapeHtml(fallback);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const secs = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const date = d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return escapeHtml(
    format.replace('{time_secs}', secs).replace('{time}', time).replace('{date_short_pretty}', date),
  );
}

/** One `<…>` token of Slack's mrkdwn: links, user and group mentions, dates, special mentions. */
function special(inner) {
  const [target, label] = inner.split('|', 2);
  if (target.startsWith('@')) return `<span class="mention">@${escapeHtml(userName(target.slice(1)))}</span>`;
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(label || target.slice(1))}</span>`;
  if (target.startsWith('!subteam^'))
    return `<span class="mention">@${escapeHtml(label || target.slice('!subteam^'.length))}</span>`;
  if (target.startsWith('!date^')) {
    const [, seconds, format] = target.split('^');
    return formatDate(seconds, format || '{time}', decodeSlack(label || ''));
  }
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  const href = decodeSlack(target);
  const safe = /^(https?:|mailto:)/.test(href) ? href : '#';
  return `<a href="${escapeHtml(safe)}" target="_blank" rel="noreferrer">${escapeHtml(decodeSlack(label || target))}</a>`;
}

function inline(text) {
  let html = escapeHtml(decodeSlack(text));
  const codes = [];
  html = html.replace(/`([^`\n]+)`/g, (_, code) => {
    codes.push(`<code>${code}</code>`);
    return `\uE000${codes.length - 1}\uE000`;
  });
  html = html
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s.,:;!?)])/g, '$1<strong>$2</strong>')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s.,:;!?)])/g, '$1<em>$2</em>')
    .replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s.,:;!?)])/g, '$1<del>$2</del>')
    .replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] ?? m);
  return html.replace(/\uE000(\d+)\uE000/g, (_, i) => codes[Number(i)]);
}

/** Slack mrkdwn to HTML: specials first (their text is not formatted), then code blocks, quotes and inline styles. */
export function mrkdwn(text) {
  const parts = [];
  let rest = String(text ?? '');
  // ```pre``` blocks
  rest = rest.replace(/```([\s\S]*?)```/g, (_, pre) => {
    parts.push(`<pre>${escapeHtml(decodeSlack(pre))}</pre>`);
    return `\uE001${parts.length - 1}\uE001`;
  });
  rest = rest.replace(/<([^<>\n]+)>/g, (_, inner) => {
    parts.push(special(inner));
    return `\uE001${parts.length - 1}\uE001`;
  });
  const lines = rest.split('\n').map((line) => {
    const quoted = /^&gt; ?/.test(line) || /^> ?/.test(line);
    const body = inline(line.replace(/^(&gt;|>) ?/, ''));
    return quoted ? `<blockquote>${body}</blockquote>` : body;
  });
  return lines.join('<br>').replace(/\uE001(\d+)\uE001/g, (_, i) => parts[Number(i)]);
}

export const textObject = (t) => (!t ? '' : t.type === 'mrkdwn' ? mrkdwn(t.text) : escapeHtml(t.text));
