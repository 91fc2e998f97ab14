/**
 * The history panel of the server's document page: the versions (newest first), a version
 * opened read-only with its authors' colours, a comparison with the version before it, and, for
 * people who may edit, naming the current state and restoring a version. Signed-in members
 * only (the history API is theirs); for anyone else the panel stays hidden.
 */
interface Author {
  key: string;
  name: string;
}
interface Version {
  id: number;
  startedAt: string;
  endedAt: string;
  authors: Author[];
  changes: number;
  name: string | null;
}

const COLOURS = ['#fde68a', '#bfdbfe', '#bbf7d0', '#fbcfe8', '#ddd6fe', '#fed7aa', '#a5f3fc', '#e5e7eb'];

/** One colour per author, the same wherever the author appears on the page. */
function colourOf(key: string): string {
  let hash = 0;
  for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return COLOURS[hash % COLOURS.length]!;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export async function showHistory(docId: string, canWrite: boolean, onRestored: () => void = () => {}): Promise<void> {
  const panel = document.getElementById('tandem-history');
  if (!panel) return;
  const base = `/api/documents/${docId}`;
  const list = element('ol', { id: 'tandem-history-list', reversed: true });
  const view = element('div', { id: 'tandem-history-view' });
  view.style.cssText = 'white-space:pre-wrap;overflow-wrap:anywhere;border:1px solid #888;border-radius:4px;padding:6px 8px;min-height:4em';
  const caption = element('p', { id: 'tandem-history-caption', className: 'note' }, 'Pick a version to see it.');
  const nameInput = element('input', { type: 'text', placeholder: 'Name this version', maxLength: 200, id: 'tandem-history-name' });
  const nameButton = element('button', { type: 'button', id: 'tandem-history-name-button' }, 'Name the current version');

  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(base + path, {
      method,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const data = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
    if (!res.ok) throw new Error(data?.error?.message ?? `${res.status}`);
    return data;
  };

  const open = async (version: Version): Promise<void> => {
    const content = (await call('GET', `/versions/${version.id}`)) as { text: string; authors: { author: Author; length: number }[] };
    view.replaceChildren();
    let pos = 0;
    for (const run of content.authors) {
      const span = element('span', { title: run.author.name }, content.text.slice(pos, pos + run.length));
      span.dataset.author = run.author.key;
      span.style.background = colourOf(run.author.key);
      view.append(span);
      pos += run.length;
    }
    if (pos < content.text.length) view.append(content.text.slice(pos));
    caption.textContent = `${version.name ?? 'Version'} of ${new Date(version.endedAt).toLocaleString()} (read-only; colours show who wrote what)`;
  };

  const compare = async (version: Version, before: Version): Promise<void> => {
    const diff = (await call('GET', `/versions/${version.id}/diff?from=${before.id}`)) as { parts: { op: string; text: string }[] };
    view.replaceChildren(...diff.parts.map((p) => (p.op === 'insert' ? element('ins', {}, p.text) : p.op === 'delete' ? element('del', {}, p.text) : document.createTextNode(p.text))));
    caption.textContent = `Changes from ${new Date(before.endedAt).toLocaleString()} to ${new Date(version.endedAt).toLocaleString()}`;
  };

  const refresh = async (): Promise<void> => {
    const { versions } = (await call('GET', '/versions')) as { versions: Version[] };
    list.replaceChildren(
      ...versions.map((v, i) => {
        const item = element('li');
        item.dataset.versionId = String(v.id);
        const who = v.authors.map((a) => {
          const tag = element('span', {}, a.name);
          tag.style.background = colourOf(a.key);
          return tag;
        });
        const buttons: HTMLButtonElement[] = [element('button', { type: 'button', className: 'open', onclick: () => void open(v).catch(report) }, 'Open')];
        const before = versions[i + 1];
        if (before) buttons.push(element('button', { type: 'button', className: 'compare', onclick: () => void compare(v, before).catch(report) }, 'Compare with the one before'));
        if (canWrite && i > 0) {
          buttons.push(
            element(
              'button',
              {
                type: 'button',
                className: 'restore',
                onclick: () =>
                  void call('POST', `/versions/${v.id}/restore`)
                    .then(() => {
                      caption.textContent = 'Restored: the document now holds that version (a new change; everyone sees it).';
                      onRestored();
                      return refresh();
                    })
                    .catch(report),
              },
              'Restore this version',
            ),
          );
        }
        item.append(element('strong', {}, v.name ?? new Date(v.endedAt).toLocaleString()), ' · ', ...who.flatMap((w, j) => (j > 0 ? [', ', w] : [w])), ` · ${v.changes} changes `, ...buttons);
        return item;
      }),
    );
  };
  const report = (error: unknown): void => {
    caption.textContent = `History: ${error instanceof Error ? error.message : String(error)}`;
  };

  try {
    await refresh();
  } catch {
    return; // not signed in, or not a member: no history here
  }
  nameButton.onclick = () =>
    void call('POST', '/versions', { name: nameInput.value })
      .then(() => {
        nameInput.value = '';
        return refresh();
      })
      .catch(report);
  const refreshButton = element('button', { type: 'button', id: 'tandem-history-refresh', onclick: () => void refresh().catch(report) }, 'Refresh');
  panel.append(element('h2', {}, 'History'), element('p', {}, refreshButton, ...(canWrite ? [' ', nameInput, ' ', nameButton] : [])), list, caption, view);
  panel.hidden = false;
  if (location.search.includes('history')) panel.scrollIntoView();
}
