/* Waiting room (patient) and console (practitioner) of a teleconsultation.
   Polls the session's status, shows the practitioner's status and the patient's
   place, opens the Jitsi video when allowed, shares documents without reloading
   the page (a reload would cut the call), and offers the phone fallback. */
(function () {
  "use strict";
  var root = document.getElementById("teleconsultation");
  if (!root) { return; }
  var side = root.dataset.side;
  var statusUrl = root.dataset.statusUrl;
  var frame = document.getElementById("video");
  var unreachable = document.getElementById("video-unreachable");
  var api = null;
  var timer = null;
  var POLL_MS = 3000;

  function csrf(form) {
    var field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }

  function text(id, value) {
    var node = document.getElementById(id);
    if (node && value !== undefined && value !== null) { node.textContent = value; }
    return node;
  }

  function showUnreachable() {
    if (unreachable) { unreachable.hidden = false; }
  }

  function mountVideo(video) {
    if (!video || !frame || frame.dataset.room) { return; }
    frame.dataset.domain = video.domain;
    frame.dataset.room = video.room;
    frame.dataset.jwt = video.jwt;
    if (root.dataset.reachable !== "true" || typeof window.JitsiMeetExternalAPI !== "function") {
      showUnreachable();
      return;
    }
    api = new window.JitsiMeetExternalAPI(video.domain, {
      roomName: video.room,
      jwt: video.jwt,
      parentNode: frame,
      width: "100%",
      height: 480,
      lang: document.documentElement.lang || "fr",
      configOverwrite: {
        prejoinConfig: { enabled: side !== "practitioner" },
        disableDeepLinking: true,
        enableLobbyChat: false,
        fileRecordingsEnabled: false,
        liveStreamingEnabled: false,
        transcribingEnabled: false
      },
      interfaceConfigOverwrite: { SHOW_JITSI_WATERMARK: false }
    });
    // Screen readers announce the frame by its title.
    var iframe = frame.querySelector("iframe");
    if (iframe && !iframe.title) { iframe.title = frame.dataset.title || ""; }
  }

  function renderDocuments(documents) {
    var list = document.getElementById("document-list");
    if (!list || !documents) { return; }
    list.textContent = "";
    if (!documents.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = list.dataset.empty;
      list.appendChild(empty);
      return;
    }
    documents.forEach(function (doc) {
      var item = document.createElement("li");
      item.dataset.document = doc.id;
      var link = document.createElement("a");
      link.href = doc.url;
      link.textContent = doc.title;
      var note = document.createElement("small");
      note.textContent = " " + doc.side_label + ", " + doc.shared_at;
      item.appendChild(link);
      item.appendChild(note);
      list.appendChild(item);
    });
  }

  function setButtons(state) {
    var waiting = state === "waiting";
    var open = waiting || state === "in_progress";
    var admit = document.getElementById("admit-button");
    var end = document.getElementById("end-button");
    var missed = document.getElementById("no-show-button");
    if (admit) { admit.disabled = !waiting; }
    if (missed) { missed.disabled = !waiting; }
    if (end) { end.disabled = !open; }
  }

  function render(data) {
    var state = text("session-state", data.state_label);
    if (state) { state.dataset.state = data.state; }
    root.dataset.state = data.state;
    if (side === "patient") {
      var status = text("practitioner-status", data.practitioner_status_label);
      if (status) { status.dataset.status = data.practitioner_status; }
      var position = document.getElementById("position");
      if (position) {
        position.dataset.position = data.position;
        position.textContent = data.position === 1 ? root.dataset.positionOne
          : data.position > 1 ? root.dataset.positionMany + " " + (data.position - 1) : "—";
      }
    } else {
      var presence = text("patient-presence", data.patient_present ? root.dataset.patientHere : root.dataset.patientAway);
      if (presence) { presence.dataset.present = data.patient_present ? "true" : "false"; }
      setButtons(data.state);
    }
    renderDocuments(data.documents);
    if (data.video) { mountVideo(data.video); }
    if (data.state === "ended" || data.state === "no_show") {
      window.clearInterval(timer);
      if (api) { api.dispose(); api = null; }
      if (side === "patient") { text("waiting-help", root.dataset.ended); }
    }
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () { return null; });
  }

  function postForm(form, body) {
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf(form) }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  var shareForm = document.getElementById("share-form");
  if (shareForm) {
    shareForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("share-error");
      error.hidden = true;
      postForm(shareForm, new FormData(shareForm)).then(function (result) {
        if (!result.ok) { error.textContent = result.data.error; error.hidden = false; return; }
        shareForm.reset();
        renderDocuments(result.data.documents);
      });
    });
  }

  var phoneForm = document.getElementById("phone-form");
  if (phoneForm) {
    phoneForm.addEventListener("submit", function (event) {
      event.preventDefault();
      postForm(phoneForm, new FormData(phoneForm)).then(function (result) {
        var done = document.getElementById("phone-done");
        done.textContent = result.data.message || "";
        done.hidden = false;
        phoneForm.hidden = true;
      });
    });
  }

  root.querySelectorAll("form.tc-action").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("action-error");
      var done = document.getElementById("action-message");
      error.hidden = true;
      done.hidden = true;
      postForm(form, new FormData(form)).then(function (result) {
        if (!result.ok) { error.textContent = result.data.error; error.hidden = false; return; }
        done.textContent = result.data.message || "";
        done.hidden = !result.data.message;
        render(result.data);
      });
    });
  });

  if (root.dataset.reachable !== "true") { showUnreachable(); }
  poll();
  timer = window.setInterval(poll, POLL_MS);
})();
