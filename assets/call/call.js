// The patient's page: validate the access link, join the queue, wait (position and
// estimated wait), the video call with the agent, then the rating.
import { Socket } from "/console/socket.js";
import { VideoCall } from "/console/rtc.js";

const TEXT = {
  "pt-BR": {
    invalid_title: "Link inválido ou expirado", invalid_text: "Peça um novo link à clínica.",
    queue_now: "Na fila agora:", wait: "espera estimada:", name: "Nome", email: "E-mail", phone: "Telefone",
    reason: "Motivo do contato", join: "Entrar na fila", waiting_title: "Aguarde, você será atendido em breve",
    position: "Sua posição:", leave: "Sair da fila", mute: "Microfone", camera_off: "Câmera",
    rate_title: "Como foi o atendimento?", comment: "Comentário", send: "Enviar", thanks: "Obrigado!",
    left_title: "Você saiu da fila.", agent: "Atendente:", connecting: "Conectando…", ended: "Atendimento encerrado.",
  },
  en: {
    invalid_title: "Invalid or expired link", invalid_text: "Ask the clinic for a new link.",
    queue_now: "In the queue now:", wait: "estimated wait:", name: "Name", email: "E-mail", phone: "Phone",
    reason: "Reason for the call", join: "Join the queue", waiting_title: "Please wait, you will be seen shortly",
    position: "Your position:", leave: "Leave the queue", mute: "Microphone", camera_off: "Camera",
    rate_title: "How was your call?", comment: "Comment", send: "Send", thanks: "Thank you!",
    left_title: "You left the queue.", agent: "Agent:", connecting: "Connecting…", ended: "The call has ended.",
  },
  es: {
    invalid_title: "Enlace inválido o caducado", invalid_text: "Pida un nuevo enlace a la clínica.",
    queue_now: "En la cola ahora:", wait: "espera estimada:", name: "Nombre", email: "Correo", phone: "Teléfono",
    reason: "Motivo", join: "Entrar en la cola", waiting_title: "Espere, será atendido en breve",
    position: "Su posición:", leave: "Salir de la cola", mute: "Micrófono", camera_off: "Cámara",
    rate_title: "¿Cómo fue la atención?", comment: "Comentario", send: "Enviar", thanks: "¡Gracias!",
    left_title: "Salió de la cola.", agent: "Agente:", connecting: "Conectando…", ended: "La llamada terminó.",
  },
  fr: {
    invalid_title: "Lien invalide ou expiré", invalid_text: "Demandez un nouveau lien à la clinique.",
    queue_now: "Dans la file :", wait: "attente estimée :", name: "Nom", email: "E-mail", phone: "Téléphone",
    reason: "Motif", join: "Rejoindre la file", waiting_title: "Patientez, vous serez reçu sous peu",
    position: "Votre position :", leave: "Quitter la file", mute: "Micro", camera_off: "Caméra",
    rate_title: "Comment s'est passé l'appel ?", comment: "Commentaire", send: "Envoyer", thanks: "Merci !",
    left_title: "Vous avez quitté la file.", agent: "Agent :", connecting: "Connexion…", ended: "L'appel est terminé.",
  },
};

const language = (() => {
  const wanted = navigator.language || "pt-BR";
  if (TEXT[wanted]) return wanted;
  const base = wanted.split("-")[0];
  return base === "pt" ? "pt-BR" : TEXT[base] ? base : "pt-BR";
})();
const t = (key) => TEXT[language][key] || TEXT["pt-BR"][key];
document.documentElement.lang = language;
for (const element of document.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/").pop() || "");
const minutes = (seconds) => (seconds < 60 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`);

function show(section) {
  for (const id of ["invalid", "form", "waiting", "in-call", "rate", "done", "left"]) $(id).hidden = id !== section;
}

async function api(method, path, body) {
  const reply = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await reply.json().catch(() => ({}));
  if (!reply.ok) throw Object.assign(new Error(json?.errors?.detail || reply.statusText), { status: reply.status, json });
  return json.data;
}

let joined = null;
let video = null;
let socket = null;

// The call this tab joined, kept for the tab (sessionStorage): a reload resumes it
// instead of validating the single-use link again, which is spent.
const savedKey = `voki-call:${token}`;
function saved() {
  try {
    return JSON.parse(sessionStorage.getItem(savedKey));
  } catch {
    return null;
  }
}
const remember = () => sessionStorage.setItem(savedKey, JSON.stringify({ call_id: joined.call_id, websocket_token: joined.websocket_token }));
const forget = () => sessionStorage.removeItem(savedKey);

/// The patient is on the call's topic from the moment they join the queue, so a page
/// closed while waiting is noticed (the server then gives 60 s to come back).
function openSocket() {
  if (socket) return;
  socket = new Socket(joined.websocket_token);
  socket.on(`call:${joined.call_id}`, "call_status", ({ status }) => { if (status === "completed") finished(); });
  socket.join(`call:${joined.call_id}`, {}).catch(() => {});
}

async function resume(call) {
  let status;
  try {
    status = await api("GET", `/api/v1/call/status/${encodeURIComponent(call.call_id)}`);
  } catch {
    forget();
    return false;
  }
  if (status.status !== "queued" && status.status !== "active") {
    forget();
    return false;
  }
  joined = call;
  show("waiting");
  openSocket();
  poll();
  return true;
}

async function start() {
  const call = saved();
  if (call && (await resume(call))) return;
  let info;
  try {
    info = await api("GET", `/api/v1/call/${encodeURIComponent(token)}/validate`);
  } catch {
    show("invalid");
    return;
  }
  $("company").textContent = info.company_name || "Voki";
  if (info.company_logo_url) {
    $("logo").src = info.company_logo_url;
    $("logo").hidden = false;
  }
  if (info.primary_color) document.documentElement.style.setProperty("--brand", info.primary_color);
  $("department").textContent = info.department_name;
  $("welcome").textContent = info.welcome_message || "";
  $("queue-size").textContent = info.queue_size;
  $("queue-wait").textContent = minutes(info.estimated_wait_time);
  const form = $("join-form");
  form.name.value = info.customer_name || "";
  form.email.value = info.customer_email || "";
  form.phone.value = info.customer_phone || "";
  show("form");
}

$("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { name: form.name.value.trim() };
  for (const field of ["email", "phone", "reason"]) if (form[field].value.trim()) body[field] = form[field].value.trim();
  try {
    joined = await api("POST", `/api/v1/call/${encodeURIComponent(token)}/join`, body);
  } catch (error) {
    $("join-error").textContent = error.message;
    $("join-error").hidden = false;
    return;
  }
  remember();
  show("waiting");
  openSocket();
  navigator.mediaDevices?.getUserMedia({ video: true, audio: false })
    .then((stream) => { $("preview").srcObject = stream; })
    .catch(() => {});
  poll();
});

async function poll() {
  if (!joined) return;
  let status;
  try {
    status = await api("GET", `/api/v1/call/status/${joined.call_id}`);
  } catch {
    setTimeout(poll, 5000);
    return;
  }
  $("position").textContent = status.position ?? "—";
  $("wait").textContent = minutes(status.estimated_wait_time || 0);
  $("agent").textContent = status.user_name ? `${t("agent")} ${status.user_name}` : "";
  if (status.status === "queued" && status.user_name && !video) connect();
  if (status.status === "active" && !video) connect();
  if (status.status === "completed") return finished();
  if (status.status === "missed" || status.status === "cancelled") {
    forget();
    socket?.close();
    return show("left");
  }
  setTimeout(poll, 3000);
}

async function connect() {
  const preview = $("preview").srcObject;
  for (const track of preview?.getTracks() || []) track.stop();
  show("in-call");
  $("call-state").textContent = t("connecting");
  openSocket();
  video = new VideoCall({
    socket,
    callId: joined.call_id,
    role: "customer",
    localVideo: $("local"),
    remoteVideo: $("remote"),
    onState: (state) => { $("call-state").textContent = state === "connected" ? "" : state; },
  });
  video.start().catch(() => {});
}

function finished() {
  forget();
  video?.stop();
  socket?.close();
  video = null;
  showRating();
}

function showRating() {
  const stars = $("stars");
  stars.replaceChildren();
  let rating = 0;
  for (let n = 1; n <= 5; n++) {
    const star = document.createElement("button");
    star.type = "button";
    star.textContent = "★";
    star.setAttribute("aria-label", String(n));
    star.addEventListener("click", () => {
      rating = n;
      for (const [i, s] of [...stars.children].entries()) s.classList.toggle("on", i < n);
    });
    stars.append(star);
  }
  $("rate-form").onsubmit = async (event) => {
    event.preventDefault();
    if (!rating) return;
    const comment = event.target.comment.value.trim();
    await api("POST", `/api/v1/call/evaluate/${joined.call_id}`, comment ? { rating, comment } : { rating }).catch(() => {});
    show("done");
  };
  show("rate");
}

$("leave").addEventListener("click", async () => {
  if (joined) await api("POST", `/api/v1/call/leave/${joined.call_id}`).catch(() => {});
  forget();
  socket?.close();
  joined = null;
  show("left");
});

let audioMuted = false;
let videoMuted = false;
$("mute-audio").addEventListener("click", () => { audioMuted = !audioMuted; video?.mute("audio", audioMuted); });
$("mute-video").addEventListener("click", () => { videoMuted = !videoMuted; video?.mute("video", videoMuted); });

start();
