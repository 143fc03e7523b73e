// Quick exit: leave for the neutral site and replace this page in the history, so that the back
// button does not return here. Also on Escape pressed twice within a second. Without JavaScript
// the link still leaves, as a normal link.
(function () {
  "use strict";
  // The page says what the quick exit does; with this script it does more (main.css, .when-js).
  document.documentElement.classList.add("js");
  var link = document.getElementById("quick-exit");
  if (!link) return;
  var target = link.href;
  function leave(event) {
    if (event) event.preventDefault();
    document.documentElement.hidden = true;
    window.location.replace(target);
  }
  link.addEventListener("click", leave);
  var last = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    if (event.repeat) return;
    var now = Date.now();
    if (now - last < 1000) leave(event);
    else last = now;
  });
})();
