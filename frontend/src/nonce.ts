// The Content-Security-Policy nonce of this page (src/kubelantern/web/csp.py).
// The page's inline script carries it; browsers hide the attribute's value
// from the DOM (so CSS cannot read it) but keep it in the `nonce` property.
// Islands hand it to libraries that add <style> elements at run time.

export function cspNonce(): string {
  return document.querySelector<HTMLScriptElement>("script[nonce]")?.nonce ?? "";
}

/**
 * Run `fn` while every <style> element created gets the page's nonce.
 *
 * xterm.js adds <style> elements when a terminal opens and has no nonce
 * option; the policy refuses <style> without the nonce. Only elements created
 * by scripts during `fn` get it: markup injected into the page never goes
 * through createElement, so this opens nothing to an attacker.
 */
export function withStyleNonce<T>(fn: () => T): T {
  const nonce = cspNonce();
  const original = Document.prototype.createElement;
  function createElement(this: Document, tagName: string, options?: ElementCreationOptions): HTMLElement {
    const el = original.call(this, tagName, options);
    if (el instanceof HTMLStyleElement) el.nonce = nonce;
    return el;
  }
  Document.prototype.createElement = createElement as typeof original;
  try {
    return fn();
  } finally {
    Document.prototype.createElement = original;
  }
}
