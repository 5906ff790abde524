// Live updates for the projector page (server-sent events). EventSource reconnects by itself
// after the bot restarts; the server tells it how long to wait ("retry").
(function () {
  "use strict";
  var status = document.getElementById("p-status");
  var url = status && status.getAttribute("data-events");
  if (!url || !window.EventSource) { return; }
  function setText(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = String(value); }
  }
  function showMentors(list) {
    var ul = document.getElementById("p-available");
    ul.textContent = "";
    list.forEach(function (m) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(m.name + " "));
      var span = document.createElement("span");
      span.className = "muted";
      span.textContent = m.subjects;
      li.appendChild(span);
      ul.appendChild(li);
    });
    document.getElementById("p-none").hidden = list.length > 0;
    setText("p-available-count", list.length);
  }
  var source = new EventSource(url);
  source.addEventListener("update", function (event) {
    var data = JSON.parse(event.data);
    setText("p-confirmed", data.confirmed);
    setText("p-waiting", data.waiting);
    showMentors(data.available);
    if (data.gains_chart) {
      var img = document.getElementById("p-gains");
      if (img) { img.src = data.gains_chart; img.alt = data.gains_alt; }
    }
    status.textContent = "Live";
    document.body.setAttribute("data-updates", String(Number(document.body.getAttribute("data-updates") || 0) + 1));
  });
  source.addEventListener("revoked", function () {
    source.close();
    status.textContent = "This projector link was switched off by the teacher.";
  });
  source.onerror = function () {
    status.textContent = "Reconnecting…";
  };
}());
