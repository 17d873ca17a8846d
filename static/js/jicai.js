// Small progressive enhancements; every page works without JavaScript.
(() => {
  "use strict";

  // Numbers as users see them: "1,234,567", "0.4200", "-12.5%", "¥ 2,850.00", "93.1 %".
  const NUMBER = /^[-+]?[¥￥$]?\s*[\d,]*\.?\d+\s*%?$/;
  const asNumber = (text) => {
    const t = text.trim();
    if (!NUMBER.test(t)) return null;
    return parseFloat(t.replace(/[¥￥$,%\s]/g, ""));
  };

  const cellText = (row, index) => {
    const cell = row.cells[index];
    return cell ? (cell.dataset.sortValue ?? cell.textContent).trim() : "";
  };

  function makeSortable(table) {
    const head = table.tHead;
    const body = table.tBodies[0];
    if (!head || !body || head.rows.length !== 1) return;
    const sortLabel = document.body.dataset.sortLabel || "Sort";
    Array.from(head.rows[0].cells).forEach((th, index) => {
      if (th.dataset.sort === "off" || th.colSpan > 1) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      button.innerHTML = th.innerHTML;
      button.title = sortLabel;
      th.replaceChildren(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        head.querySelectorAll("th").forEach((other) => other.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const rows = Array.from(body.rows);
        const numeric = rows.every((r) => cellText(r, index) === "" || asNumber(cellText(r, index)) !== null);
        const collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true });
        rows.sort((a, b) => {
          const x = cellText(a, index);
          const y = cellText(b, index);
          const order = numeric ? (asNumber(x) ?? -Infinity) - (asNumber(y) ?? -Infinity) : collator.compare(x, y);
          return ascending ? order : -order;
        });
        body.append(...rows);
      });
    });
  }

  function makeFilterable(table) {
    const body = table.tBodies[0];
    if (!body || body.rows.length < 8 || table.dataset.filter === "off") return;
    const id = `table-filter-${Math.random().toString(36).slice(2, 8)}`;
    const wrapper = document.createElement("div");
    wrapper.className = "table-filter";
    const label = document.createElement("label");
    label.htmlFor = id;
    // A list with its own server-side search needs no second, page-only filter box.
    const scope = table.closest("section, .card, main");
    if (scope && scope.querySelector("form[role='search']")) return;
    // On a list split into server-side pages the filter only sees this page: say so.
    const paged = scope && scope.querySelector(".pagination-links");
    label.textContent = (paged ? document.body.dataset.filterPageLabel : document.body.dataset.filterLabel) || "Filter rows";
    const input = document.createElement("input");
    input.type = "search";
    input.id = id;
    const count = document.createElement("span");
    count.className = "table-filter-count";
    count.setAttribute("aria-live", "polite");
    wrapper.append(label, input, count);
    table.before(wrapper);
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      let shown = 0;
      Array.from(body.rows).forEach((row) => {
        const match = !needle || row.textContent.toLowerCase().includes(needle);
        row.hidden = !match;
        if (match) shown += 1;
      });
      count.textContent = needle ? `${shown} / ${body.rows.length}` : "";
    });
  }

  function enhance(root) {
    root.querySelectorAll("table.data-table:not([data-enhanced])").forEach((table) => {
      table.dataset.enhanced = "1";
      if (table.dataset.sortable !== "off") makeSortable(table);
      makeFilterable(table);
    });
  }

  // Mark the navigation link of the section the page belongs to (longest matching path).
  function markCurrentNav() {
    const links = Array.from(document.querySelectorAll(".main-nav a[href]"));
    const path = window.location.pathname;
    let best = null;
    links.forEach((link) => {
      const href = new URL(link.href, window.location.href).pathname;
      const matches = href === "/" ? path === "/" : path === href || path.startsWith(href);
      if (matches && (!best || href.length > new URL(best.href).pathname.length)) best = link;
    });
    if (best) best.setAttribute("aria-current", "page");
  }

  document.addEventListener("DOMContentLoaded", () => {
    markCurrentNav();
    // Move focus to an error summary so keyboard and screen-reader users meet it first.
    const summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
    enhance(document);
  });

  // Ask before irreversible actions: <form data-confirm="..."> or, when only one of a
  // form's buttons is irreversible (publish, not preview), <button data-confirm="...">.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const submitter = event.submitter;
    const question =
      (submitter instanceof HTMLElement && submitter.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Tables that arrive in htmx partials are enhanced too.
  document.addEventListener("htmx:afterSwap", (event) => enhance(event.target));
})();
