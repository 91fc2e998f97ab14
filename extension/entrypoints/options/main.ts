import { browser } from 'wxt/browser';
import { STORAGE, storedServerUrl } from '../../lib/storage-keys';

const input = document.getElementById('server') as HTMLInputElement;
const saved = document.getElementById('saved')!;
void browser.storage.local.get(STORAGE.serverUrl).then((s) => {
  input.value = storedServerUrl(s);
});
document.getElementById('form')!.addEventListener('submit', (event) => {
  event.preventDefault();
  const origin = new URL(input.value).origin;
  // The background picks the new server up when it next starts; reload it now.
  void browser.storage.local.set({ [STORAGE.serverUrl]: origin }).then(() => {
    saved.textContent = `Saved: ${origin}`;
    browser.runtime.reload();
  });
});
