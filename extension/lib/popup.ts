/** The toolbar popup: account, the fields bound now (status, link, stop), recent documents. */
import { browser } from 'wxt/browser';
import type { FieldStatus, OneOff } from './messages';

interface PopupState {
  server: string;
  signInUrl: string;
  user: { email: string } | null;
  bound: { docId: string; title: string; link: string | null; fields: number; status: FieldStatus; others: string[] }[];
  recent: { docId: string; title: string; link: string | null; originUrl: string | null }[];
}

const send = (m: OneOff): Promise<unknown> => browser.runtime.sendMessage(m);

export async function renderPopup(doc: Document): Promise<void> {
  const state = (await send({ t: 'popup-state' })) as PopupState;
  const account = doc.getElementById('account')!;
  account.textContent = '';
  if (state.user) account.textContent = `Signed in to ${state.server} as ${state.user.email}`;
  else {
    const a = doc.createElement('a');
    a.href = state.signInUrl;
    a.target = '_blank';
    a.textContent = `Sign in to ${state.server}`;
    account.append(a);
  }
  const bound = doc.getElementById('bound')!;
  if (state.bound.length > 0) bound.textContent = '';
  for (const d of state.bound) {
    const li = doc.createElement('li');
    li.dataset.docId = d.docId;
    const s = d.status;
    const status = s.problem ?? `${s.connection === 'live' ? 'live' : 'offline'} · ${s.unsaved === 0 ? 'saved' : `${s.unsaved} unsaved`}`;
    li.append(`${d.title || d.docId} — ${status}`);
    if (d.others.length > 0) {
      const others = doc.createElement('div');
      others.dataset.tandem = 'others';
      others.textContent = `Also here: ${d.others.join(', ')}`;
      li.append(others);
    }
    if (d.link) {
      const input = doc.createElement('input');
      input.readOnly = true;
      input.value = d.link;
      input.dataset.tandem = 'link';
      input.setAttribute('aria-label', 'Share link');
      const copy = doc.createElement('button');
      copy.textContent = 'Copy link';
      copy.addEventListener('click', () => void navigator.clipboard.writeText(d.link!).then(() => (copy.textContent = 'Copied')));
      li.append(input, copy);
    }
    // The document's versions, on the server's page (its history panel).
    const history = doc.createElement('a');
    history.href = new URL(`/d/${d.docId}?history`, state.signInUrl).href;
    history.target = '_blank';
    history.dataset.tandem = 'history';
    history.textContent = 'History';
    li.append(' ', history, ' ');
    const stop = doc.createElement('button');
    stop.textContent = 'Stop collaborating';
    stop.addEventListener('click', () => void send({ t: 'popup-stop', docId: d.docId }).then(() => li.remove()));
    li.append(stop);
    bound.append(li);
  }
  const recent = doc.getElementById('recent')!;
  for (const r of state.recent) {
    const li = doc.createElement('li');
    if (r.originUrl) {
      const a = doc.createElement('a');
      a.href = r.originUrl;
      a.target = '_blank';
      a.textContent = r.title || r.docId;
      li.append(a);
    } else li.append(r.title || r.docId);
    recent.append(li);
  }
}
