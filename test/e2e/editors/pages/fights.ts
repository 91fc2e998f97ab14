/**
 * Hand-made editors that keep their own model and render over anything else that changes their
 * DOM, as a framework editor without a Tandem adapter does: `#reverter` puts its model back as
 * soon as its DOM changes (a mutation observer), `#renderer` renders its model every 100 ms.
 * Both take the person's typing into their model from its own (trusted) input events.
 */
for (const [id, text] of [
  ['reverter', 'Reverter text.'],
  ['renderer', 'Renderer text.'],
] as const) {
  const el = document.createElement('div');
  el.id = id;
  el.contentEditable = 'true';
  el.style.cssText = 'min-height: 3em; border: 1px solid #999; padding: 4px; margin: 8px 0';
  el.textContent = text;
  document.getElementById('shared')!.append(el);
  let model: string = text;
  (window as unknown as Record<string, () => string>)[`${id}Text`] = () => model;
  // The person's typing only, as editors that read the keyboard do: a script's input event
  // (Tandem's, after a collaborator's change) is not the person's.
  el.addEventListener('input', (event) => {
    if (event.isTrusted) model = el.textContent ?? '';
  });
  const render = (): void => {
    if (el.textContent !== model) el.textContent = model;
  };
  if (id === 'reverter') new MutationObserver(render).observe(el, { subtree: true, childList: true, characterData: true });
  else setInterval(render, 100);
}
document.documentElement.dataset.editorReady = 'true';
