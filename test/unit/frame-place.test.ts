/**
 * Where a bound field is remembered (issue 23): never by a frame's address alone, which is
 * about:srcdoc or about:blank for such frames on every site.
 */
import { describe, expect, it } from 'vitest';
import { placeOfOrigin, placeOfSender, samePlace } from '../../extension/lib/place';

const X = 'http://127.0.0.1:4000';
const Y = 'http://localhost:4000';

describe('the place of a frame', () => {
  it('gives srcdoc and about:blank frames on two origins two places, though their addresses are the same', () => {
    const onX = placeOfSender({ url: 'about:srcdoc', origin: X, frameId: 3, tab: { url: `${X}/editors.html` } }, { origin: X, path: '0' });
    const onY = placeOfSender({ url: 'about:srcdoc', origin: Y, frameId: 3, tab: { url: `${Y}/editors.html` } }, { origin: Y, path: '0' });
    expect(onX).toEqual({ top: `${X}/editors.html`, origin: X, frame: 'about:srcdoc', path: '0' });
    expect(samePlace(onX!, onY!)).toBe(false);
    // Firefox gives no sender origin: the frame's own report of the origin it inherited.
    expect(placeOfSender({ url: 'about:blank', frameId: 5, tab: { url: `${Y}/editors.html#x` } }, { origin: Y, path: '1' })).toEqual({
      top: `${Y}/editors.html`,
      origin: Y,
      frame: 'about:blank',
      path: '1',
    });
  });

  it("takes the browser's word over the frame's", () => {
    // Chromium's sender origin wins over what the frame says; an http(s) frame's address gives its origin.
    expect(placeOfSender({ url: 'about:srcdoc', origin: X, frameId: 3, tab: { url: `${X}/p` } }, { origin: Y, path: '0' })?.origin).toBe(X);
    expect(placeOfSender({ url: `${Y}/inner`, frameId: 3, tab: { url: `${X}/p` } }, { origin: X, path: '0' })?.origin).toBe(Y);
    // The top frame is the tab's page, at no position.
    expect(placeOfSender({ url: `${X}/p`, frameId: 0, tab: { url: `${X}/p` } }, { origin: Y, path: '4' })).toEqual({ top: `${X}/p`, origin: X, frame: `${X}/p`, path: '' });
  });

  it('remembers nothing where the origin is opaque or not a web origin', () => {
    expect(placeOfSender({ url: 'about:srcdoc', origin: 'null', frameId: 2, tab: { url: `${X}/p` } }, { origin: 'null', path: '0' })).toBeNull();
    expect(placeOfSender({ url: 'about:blank', frameId: 2, tab: { url: `${X}/p` } }, { origin: 'null', path: '0' })).toBeNull();
    expect(placeOfSender({ url: 'file:///tmp/p.html', frameId: 0, tab: { url: 'file:///tmp/p.html' } }, { origin: 'null', path: '' })).toBeNull();
    expect(placeOfSender({ url: 'data:text/html,x', frameId: 2, tab: { url: `${X}/p` } }, { origin: X, path: '0' })).toBeNull();
    expect(placeOfSender({ url: 'about:srcdoc', frameId: 2, tab: { url: `${X}/p` } }, { origin: X, path: 'unknown' })).toBeNull();
    expect(placeOfSender({ url: 'about:srcdoc', frameId: 2, tab: { url: `${X}/p` } }, { origin: `${X}/path`, path: '0' })).toBeNull();
  });

  it('opens a shared document where it was written only at a place a frame can prove it is in', () => {
    expect(placeOfOrigin(`${X}/p`, { frame: `${X}/p` })).toEqual({ top: `${X}/p`, origin: X, frame: `${X}/p`, path: '' });
    expect(placeOfOrigin(`${X}/p`, { frame: 'about:srcdoc', origin: X, path: '1' })).toEqual({ top: `${X}/p`, origin: X, frame: 'about:srcdoc', path: '1' });
    // Locators written before places: an iframe's has no position, and an about: frame no origin.
    expect(placeOfOrigin(`${X}/p`, { frame: 'about:srcdoc' })).toBeNull();
    expect(placeOfOrigin(`${X}/p`, { frame: 'about:srcdoc', path: '0' })).toBeNull();
    // A top frame that is not the page, a claimed origin that is no web origin, a non-web page.
    expect(placeOfOrigin(`${X}/p`, { frame: `${Y}/q`, path: '' })).toBeNull();
    expect(placeOfOrigin(`${X}/p`, { frame: 'about:blank', origin: 'null', path: '0' })).toBeNull();
    expect(placeOfOrigin('javascript:alert(1)', { frame: 'javascript:alert(1)', path: '' })).toBeNull();
    // An http(s) frame's origin is its address's, whatever the locator claims.
    expect(placeOfOrigin(`${X}/p`, { frame: `${Y}/inner`, origin: X, path: '0' })?.origin).toBe(Y);
  });
});
