/* Device check before a teleconsultation: camera, microphone, speaker, connection.
   Results are written into the help form so that a concierge sees what failed. */
(function () {
  "use strict";
  var root = document.getElementById("device-check");
  if (!root) { return; }
  var results = {};
  var stream = null;

  function item(name) { return root.querySelector('[data-check="' + name + '"]'); }

  function report(name, status, detail) {
    results[name] = { status: status, detail: detail || "" };
    var row = item(name);
    var label = status === "pass" ? root.dataset.pass : status === "fail" ? root.dataset.fail : root.dataset.running;
    row.querySelector(".check-status").textContent = label;
    row.dataset.status = status;
    var help = row.querySelector(".check-help");
    help.hidden = status !== "fail";
    if (status === "fail") { help.textContent = root.dataset[name + "Help"]; }
    var field = document.querySelector('#help-form input[name="check_results"]');
    if (field) { field.value = JSON.stringify(results); }
  }

  function checkMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      report("camera", "fail", "unsupported");
      report("microphone", "fail", "unsupported");
      item("camera").querySelector(".check-help").textContent = root.dataset.unsupported;
      return Promise.resolve();
    }
    report("camera", "running");
    report("microphone", "running");
    return navigator.mediaDevices.getUserMedia({ video: true, audio: true }).then(function (media) {
      stream = media;
      document.getElementById("preview").srcObject = media;
      report("camera", media.getVideoTracks().length ? "pass" : "fail", "tracks=" + media.getVideoTracks().length);
      listen(media);
    }, function (error) {
      report("camera", "fail", error.name);
      report("microphone", "fail", error.name);
    });
  }

  function listen(media) {
    var tracks = media.getAudioTracks();
    if (!tracks.length) { report("microphone", "fail", "no audio track"); return; }
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { report("microphone", "pass", "no meter"); return; }
    var context = new Context();
    var analyser = context.createAnalyser();
    context.createMediaStreamSource(media).connect(analyser);
    var data = new Uint8Array(analyser.fftSize);
    var meter = document.getElementById("mic-level");
    var peak = 0;
    var started = Date.now();
    (function sample() {
      analyser.getByteTimeDomainData(data);
      var level = 0;
      for (var i = 0; i < data.length; i++) { level = Math.max(level, Math.abs(data[i] - 128)); }
      peak = Math.max(peak, level);
      meter.value = Math.min(100, level * 2);
      if (Date.now() - started < 3000) { window.requestAnimationFrame(sample); return; }
      report("microphone", peak > 1 ? "pass" : "fail", "peak=" + peak);
    })();
  }

  function playSound() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { report("speaker", "fail", "no audio"); return; }
    var context = new Context();
    var oscillator = context.createOscillator();
    oscillator.frequency.value = 440;
    oscillator.connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 0.8);
    report("speaker", "running");
    item("speaker").querySelector(".speaker-question").hidden = false;
  }

  function checkConnection() {
    report("connection", "running");
    var url = root.dataset.pingUrl;
    var timings = [];
    function ping(left) {
      var started = performance.now();
      return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function () {
        timings.push(performance.now() - started);
        return left > 1 ? ping(left - 1) : null;
      });
    }
    return ping(5).then(function () {
      timings.sort(function (a, b) { return a - b; });
      var median = Math.round(timings[Math.floor(timings.length / 2)]);
      report("connection", median < 400 ? "pass" : "fail", "rtt=" + median + "ms");
    }, function () { report("connection", "fail", "offline"); });
  }

  document.getElementById("start-check").addEventListener("click", function () {
    checkMedia().then(checkConnection);
  });
  document.getElementById("play-sound").addEventListener("click", playSound);
  root.querySelectorAll("[data-speaker-answer]").forEach(function (button) {
    button.addEventListener("click", function () {
      var heard = button.dataset.speakerAnswer === "yes";
      report("speaker", heard ? "pass" : "fail", heard ? "heard" : "not heard");
      item("speaker").querySelector(".speaker-question").hidden = true;
    });
  });
  window.addEventListener("pagehide", function () {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
  });
})();
