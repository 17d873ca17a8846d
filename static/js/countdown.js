// The countdown to the bid deadline (procurement/_countdown.html). The page carries the
// server's time when it was rendered; the offset between that and this browser's clock
// is measured once, so a wrong clock on the bidder's computer does not move the deadline.
(() => {
  "use strict";
  const loadedAt = Date.now();
  const two = (n) => String(n).padStart(2, "0");
  document.querySelectorAll("[data-countdown-deadline]").forEach((box) => {
    const deadline = Date.parse(box.dataset.countdownDeadline);
    const serverNow = Date.parse(box.dataset.countdownServerNow);
    const value = box.querySelector(".countdown-value");
    if (Number.isNaN(deadline) || Number.isNaN(serverNow) || !value) return;
    const offset = serverNow - loadedAt; // server time = browser time + offset
    const tick = () => {
      const left = Math.floor((deadline - (Date.now() + offset)) / 1000);
      if (left <= 0) {
        value.textContent = box.dataset.countdownClosed;
        box.classList.add("countdown-closed");
        return false;
      }
      const days = Math.floor(left / 86400);
      const rest = left % 86400;
      value.textContent = `${days} ${box.dataset.countdownDays} ${two(Math.floor(rest / 3600))}:${two(Math.floor((rest % 3600) / 60))}:${two(rest % 60)}`;
      return true;
    };
    if (tick()) {
      const timer = setInterval(() => { if (!tick()) clearInterval(timer); }, 1000);
    }
  });
})();
