// Signing keys in the browser (docs/signatures.md). WebCrypto only: ECDSA P-256 with
// SHA-256 to sign, PBKDF2 (SHA-256) + AES-GCM to wrap the encrypted backup. The private
// key is kept in this browser's IndexedDB as a non-extractable CryptoKey and never sent.
(() => {
  "use strict";
  const subtle = window.crypto && window.crypto.subtle;
  const DB = "jicai-signing";
  const STORE = "keys";
  const PBKDF2_ITERATIONS = 600000;
  const ECDSA = { name: "ECDSA", namedCurve: "P-256" };

  const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "fingerprint" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function storeKey(record) {
    const db = await openDb();
    await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).put(record);
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }

  async function loadKey(fingerprint) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const request = db.transaction(STORE).objectStore(STORE).get(fingerprint);
      request.onsuccess = () => resolve(request.result || null);
      request.onerror = () => reject(request.error);
    });
  }

  async function fingerprintOf(spki) {
    return hex(await subtle.digest("SHA-256", spki));
  }

  async function passphraseKey(passphrase, salt, usages) {
    const material = await subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
    return subtle.deriveKey(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations: PBKDF2_ITERATIONS },
      material,
      { name: "AES-GCM", length: 256 },
      false,
      usages,
    );
  }

  // Keep a non-extractable copy of the private key in IndexedDB.
  async function keepPrivate(pkcs8, fingerprint, name) {
    const privateKey = await subtle.importKey("pkcs8", pkcs8, ECDSA, false, ["sign"]);
    await storeKey({ fingerprint, name, privateKey });
  }

  function download(filename, text) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  function say(form, text, isError) {
    const status = form.querySelector("[data-sign-status]");
    if (!status) return;
    status.hidden = false;
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  // <form data-keygen>: generate a key pair, download its encrypted backup, keep the
  // private key here, and send only the public key.
  async function generate(form) {
    const passphrase = form.querySelector("[data-passphrase]").value;
    const again = form.querySelector("[data-passphrase-again]").value;
    if (passphrase.length < 12 || passphrase !== again) {
      say(form, form.dataset.passphraseError, true);
      return false;
    }
    const pair = await subtle.generateKey(ECDSA, true, ["sign", "verify"]);
    const spki = await subtle.exportKey("spki", pair.publicKey);
    const fingerprint = await fingerprintOf(spki);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrapping = await passphraseKey(passphrase, salt, ["wrapKey"]);
    const wrapped = await subtle.wrapKey("pkcs8", pair.privateKey, wrapping, { name: "AES-GCM", iv });
    const backup = {
      format: "jicai-signing-key-backup/1",
      fingerprint,
      public_key: b64(spki),
      kdf: { name: "PBKDF2", hash: "SHA-256", iterations: PBKDF2_ITERATIONS, salt: b64(salt) },
      cipher: { name: "AES-GCM", iv: b64(iv) },
      wrapped_private_key: b64(wrapped),
    };
    download(`jicai-signing-key-${fingerprint.slice(0, 16)}.json`, JSON.stringify(backup, null, 1));
    const pkcs8 = await subtle.exportKey("pkcs8", pair.privateKey);
    const name = form.querySelector("[name=name]").value;
    await keepPrivate(pkcs8, fingerprint, name);
    form.querySelector("[name=public_key]").value = b64(spki);
    return true;
  }

  // <form data-restore>: read an encrypted backup with its passphrase into this browser.
  async function restore(form) {
    const file = form.querySelector("[data-backup-file]").files[0];
    const passphrase = form.querySelector("[data-passphrase]").value;
    try {
      const backup = JSON.parse(await file.text());
      const unwrapping = await passphraseKey(passphrase, unb64(backup.kdf.salt), ["unwrapKey"]);
      const privateKey = await subtle.unwrapKey(
        "pkcs8", unb64(backup.wrapped_private_key), unwrapping,
        { name: "AES-GCM", iv: unb64(backup.cipher.iv) }, ECDSA, false, ["sign"],
      );
      const fingerprint = await fingerprintOf(unb64(backup.public_key));
      await storeKey({ fingerprint, name: "", privateKey });
      say(form, form.dataset.restored.replace("%s", fingerprint.slice(0, 16)), false);
    } catch (error) {
      say(form, form.dataset.restoreError, true);
    }
  }

  // <form data-sign>: sign every [data-sign-content] (base64 of the exact bytes) with the
  // first of the user's registered keys (data-sign-keys) this browser holds.
  async function sign(form) {
    let record = null;
    for (const fingerprint of (form.dataset.signKeys || "").split(" ").filter(Boolean)) {
      record = await loadKey(fingerprint);
      if (record) break;
    }
    if (!record) {
      if (form.dataset.signRequired !== "1") return true; // not required: sealed unsigned
      say(form, form.dataset.signMissing, true);
      return false;
    }
    say(form, form.dataset.signWorking, false);
    for (const input of form.querySelectorAll("[data-sign-content]")) {
      const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, record.privateKey, unb64(input.dataset.signContent));
      input.value = b64(signature);
    }
    form.querySelector("[name=signing_key]").value = record.fingerprint;
    return true;
  }

  // Runs before jicai.js's confirmation prompt (capture phase): do the asynchronous work,
  // then submit again with the same button; the prompt then asks as usual.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.signDone) return;
    const submitter = event.submitter;
    let work = null;
    if (form.hasAttribute("data-keygen")) work = generate;
    else if (form.hasAttribute("data-restore")) work = restore;
    else if (form.hasAttribute("data-sign") && submitter && submitter.hasAttribute("data-sign-button")) work = sign;
    if (!work) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!subtle) {
      say(form, form.dataset.noCrypto || "WebCrypto is not available.", true);
      return;
    }
    work(form).then((proceed) => {
      if (proceed && work !== restore) {
        form.dataset.signDone = "1";
        form.requestSubmit(submitter);
      }
    }).catch(() => say(form, form.dataset.signMissing || form.dataset.restoreError || "Error", true));
  }, true);
})();
