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
  function showAwards(list) {
    var ul = document.getElementById("p-awards");
    ul.textContent = "";
    list.forEach(function (a) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(a.name + ": " + a.title + " "));
      if (a.reason) {
        var span = document.createElement("span");
        span.className = "muted";
        span.textContent = a.reason;
        li.appendChild(span);
      }
      ul.appendChild(li);
    });
    document.getElementById("p-no-awards").hidden = list.length > 0;
  }
  var source = new EventSource(url);
  source.addEventListener("update", function (event) {
    var data = JSON.parse(event.data);
    setText("p-confirmed", data.confirmed);
    setText("p-waiting", data.waiting);
    showMentors(data.available);
    showAwards(data.awards || []);
    var goal = document.getElementById("p-goal");
    if (data.goal) {
      setText("p-goal-value", data.goal.value);
      setText("p-goal-target", data.goal.target);
      setText("p-goal-label", data.goal.label);
      setText("p-goal-reward", data.goal.reward);
      setText("p-goal-percent", data.goal.percent);
      document.getElementById("p-goal-meter").value = data.goal.percent;
      goal.hidden = false;
    } else {
      goal.hidden = true;
    }
    var section = document.getElementById("p-gains-section");
    if (data.gains) {
      var img = document.getElementById("p-gains");
      var src = img.getAttribute("data-base") + "?v=" + data.gains.version;
      if (img.getAttribute("src") !== src) { img.setAttribute("src", src); }
      img.alt = data.gains.alt;
      setText("p-average", data.gains.average);
      section.hidden = false;
    } else {
      section.hidden = true;
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
