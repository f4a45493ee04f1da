// A kernel restart leaves every widget it drew in the page, disconnected: ipywidgets then
// marks each part with a broken-link icon and none of them does anything any more. This view
// draws nothing while the kernel lives; once its model is disconnected it hides the widget
// around it (the nearest .nbtrack-root) and puts one line in its place.

const STYLE_ID = "nbtrack-restart-style";
const STYLE = `
.nbtrack-restarted > :not(.nbtrack-restarted-line) { display: none !important; }
.nbtrack-restarted.jupyter-widgets-disconnected::before,
.nbtrack-restarted .jupyter-widgets-disconnected::before { content: none !important; display: none !important; }
.nbtrack-restarted-line {
  padding: 4px 8px;
  border-left: 3px solid var(--jp-warn-color1, #f57c00);
  color: var(--jp-ui-font-color1, #212121);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
}
`;

function addStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = STYLE;
  document.head.append(style);
}

// Call `onLost` once the model loses its kernel. ipywidgets sets every model's comm_live to
// false when the kernel restarts ("comm_live_update"); anywidget's views do not get the
// disconnected class themselves, so the event is what tells.
function whenDisconnected(model, onLost) {
  let lost = false;
  const update = () => {
    if (lost) return;
    lost = true;
    onLost();
  };
  model.on("comm_live_update", update);
  return () => model.off("comm_live_update", update);
}

function showRestarted(root, message) {
  addStyle();
  root.classList.add("nbtrack-restarted");
  if (root.querySelector(":scope > .nbtrack-restarted-line")) return;
  const line = document.createElement("div");
  line.className = "nbtrack-restarted-line";
  line.setAttribute("role", "status");
  line.textContent = message;
  root.prepend(line);
}

export default {
  render({ model, el }) {
    el.classList.add("nbtrack-restart-note");
    addStyle();
    return whenDisconnected(model, () => {
      showRestarted(el.closest(".nbtrack-root") || el, model.get("message"));
    });
  },
};
