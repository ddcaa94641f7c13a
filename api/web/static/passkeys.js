// Passkeys on contactlog's pages: registering one (the passkeys page) and signing in with one
// (the sign-in page). WebAuthn's binary fields travel as base64url, as the server's options
// and its checks (py_webauthn) expect. No inline script: the page's CSP allows only this file.
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function credentialJson(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) { out.response.transports = response.getTransports(); }
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (answer) {
      return answer.json().then(function (json) {
        if (!answer.ok) { throw new Error(json.detail || "The passkey was not accepted."); }
        return json;
      });
    });
  }

  function say(where, error) {
    // The browser's own words for a cancelled or refused prompt say nothing to a teacher.
    var text = error.name === "NotAllowedError"
      ? "The passkey was not used: it was cancelled, or the device could not check it is you."
      : error.message;
    where.textContent = text;
    where.hidden = false;
  }

  function register(button) {
    var form = button.closest("form");
    var token = form.querySelector("[name=form_token]").value;
    var name = form.querySelector("[name=name]").value || "Passkey";
    var problem = document.getElementById("passkey-problem");
    post("/app/passkeys/options", { form_token: token }).then(function (options) {
      options.challenge = toBytes(options.challenge);
      options.user.id = toBytes(options.user.id);
      (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
      return navigator.credentials.create({ publicKey: options });
    }).then(function (credential) {
      return post("/app/passkeys", { form_token: token, name: name, credential: credentialJson(credential) });
    }).then(function () {
      window.location.assign("/app/passkeys?done=added");
    }).catch(function (error) { say(problem, error); });
  }

  function signIn(button) {
    var form = button.closest("form");
    var token = form.querySelector("[name=form_token]").value;
    var then = form.querySelector("[name=next]").value;
    var problem = document.getElementById("passkey-problem");
    post("/sign-in/passkey/options", { form_token: token }).then(function (options) {
      options.challenge = toBytes(options.challenge);
      (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
      return navigator.credentials.get({ publicKey: options });
    }).then(function (credential) {
      return post("/sign-in/passkey", { form_token: token, next: then, credential: credentialJson(credential) });
    }).then(function (answer) {
      window.location.assign(answer.next);
    }).catch(function (error) { say(problem, error); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var supported = !!(window.PublicKeyCredential && navigator.credentials);
    document.querySelectorAll("[data-passkey]").forEach(function (button) {
      if (!supported) { button.hidden = true; return; }
      button.hidden = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        if (button.dataset.passkey === "register") { register(button); } else { signIn(button); }
      });
    });
  });
})();
