// The patient's page: validate the access link, join the queue, wait (position and
// estimated wait), the video call with the agent, then the rating.
import { Socket } from "/console/socket.js";
import { VideoCall } from "/console/rtc.js";

const TEXT = {
  "pt-BR": {
    queue_full: "A fila está cheia agora. Tente de novo em alguns minutos.",
    join_check: "Confira seus dados: o nome é obrigatório, e o e-mail e o telefone precisam ser válidos.", error: "Algo deu errado. Tente de novo.",
    agent_video: "Vídeo do atendente", your_video: "Seu vídeo", mic_on: "Microfone ligado", mic_off: "Microfone desligado", camera_on: "Câmera ligada", camera_off: "Câmera desligada", hang_up: "Desligar", chat: "Chat", message: "Mensagem", hung_up_title: "Você saiu da chamada.", hung_up_text: "O atendente ainda pode encerrar o atendimento. Quer voltar?", rejoin: "Voltar à chamada", agent_here: "O atendente está na chamada.", agent_left: "O atendente saiu da chamada. Aguarde…", connected: "Conectado.", disconnected: "A conexão caiu. Reconectando…", failed: "O vídeo não conectou. Recarregue a página.", no_media: "Sem câmera ou microfone: o atendente não vê nem ouve você.", agent_muted: "O atendente desligou o microfone.", agent_unmuted: "O atendente ligou o microfone.", agent_camera_off: "O atendente desligou a câmera.", agent_camera_on: "O atendente ligou a câmera.", you_muted: "Seu microfone está desligado.", you_unmuted: "Seu microfone está ligado.", you_camera_off: "Sua câmera está desligada.", you_camera_on: "Sua câmera está ligada.", hang_up_confirm: "Sair da chamada?", stars: "Avaliação (1 a 5 estrelas)", you: "Você",
    invalid_title: "Link inválido ou expirado", invalid_text: "Peça um novo link à clínica.",
    queue_now: "Na fila agora:", wait: "espera estimada:", name: "Nome", email: "E-mail", phone: "Telefone",
    reason: "Motivo do contato", join: "Entrar na fila", waiting_title: "Aguarde, você será atendido em breve",
    position: "Sua posição:", leave: "Sair da fila",
    rate_title: "Como foi o atendimento?", comment: "Comentário", send: "Enviar", thanks: "Obrigado!",
    left_title: "Você saiu da fila.", agent: "Atendente:", connecting: "Conectando…", ended: "Atendimento encerrado.",
  },
  en: {
    queue_full: "The queue is full right now. Try again in a few minutes.",
    join_check: "Check your details: the name is required, and the e-mail and phone must be valid.", error: "Something went wrong. Try again.",
    agent_video: "The agent's video", your_video: "Your video", mic_on: "Microphone on", mic_off: "Microphone off", camera_on: "Camera on", camera_off: "Camera off", hang_up: "Hang up", chat: "Chat", message: "Message", hung_up_title: "You left the call.", hung_up_text: "The agent can still close the consultation. Do you want to go back?", rejoin: "Back to the call", agent_here: "The agent is on the call.", agent_left: "The agent left the call. Please wait…", connected: "Connected.", disconnected: "The connection dropped. Reconnecting…", failed: "The video could not connect. Reload the page.", no_media: "No camera or microphone: the agent cannot see or hear you.", agent_muted: "The agent turned their microphone off.", agent_unmuted: "The agent turned their microphone on.", agent_camera_off: "The agent turned their camera off.", agent_camera_on: "The agent turned their camera on.", you_muted: "Your microphone is off.", you_unmuted: "Your microphone is on.", you_camera_off: "Your camera is off.", you_camera_on: "Your camera is on.", hang_up_confirm: "Leave the call?", stars: "Rating (1 to 5 stars)", you: "You",
    invalid_title: "Invalid or expired link", invalid_text: "Ask the clinic for a new link.",
    queue_now: "In the queue now:", wait: "estimated wait:", name: "Name", email: "E-mail", phone: "Phone",
    reason: "Reason for the call", join: "Join the queue", waiting_title: "Please wait, you will be seen shortly",
    position: "Your position:", leave: "Leave the queue",
    rate_title: "How was your call?", comment: "Comment", send: "Send", thanks: "Thank you!",
    left_title: "You left the queue.", agent: "Agent:", connecting: "Connecting…", ended: "The call has ended.",
  },
  es: {
    queue_full: "La cola está llena ahora. Inténtelo de nuevo en unos minutos.",
    join_check: "Revise sus datos: el nombre es obligatorio y el correo y el teléfono deben ser válidos.", error: "Algo salió mal. Inténtelo de nuevo.",
    agent_video: "Vídeo del agente", your_video: "Su vídeo", mic_on: "Micrófono activado", mic_off: "Micrófono desactivado", camera_on: "Cámara activada", camera_off: "Cámara desactivada", hang_up: "Colgar", chat: "Chat", message: "Mensaje", hung_up_title: "Salió de la llamada.", hung_up_text: "El agente todavía puede cerrar la atención. ¿Quiere volver?", rejoin: "Volver a la llamada", agent_here: "El agente está en la llamada.", agent_left: "El agente salió de la llamada. Espere…", connected: "Conectado.", disconnected: "Se cortó la conexión. Reconectando…", failed: "El vídeo no conectó. Recargue la página.", no_media: "Sin cámara ni micrófono: el agente no le ve ni le oye.", agent_muted: "El agente desactivó el micrófono.", agent_unmuted: "El agente activó el micrófono.", agent_camera_off: "El agente desactivó la cámara.", agent_camera_on: "El agente activó la cámara.", you_muted: "Su micrófono está desactivado.", you_unmuted: "Su micrófono está activado.", you_camera_off: "Su cámara está desactivada.", you_camera_on: "Su cámara está activada.", hang_up_confirm: "¿Salir de la llamada?", stars: "Valoración (1 a 5 estrellas)", you: "Usted",
    invalid_title: "Enlace inválido o caducado", invalid_text: "Pida un nuevo enlace a la clínica.",
    queue_now: "En la cola ahora:", wait: "espera estimada:", name: "Nombre", email: "Correo", phone: "Teléfono",
    reason: "Motivo", join: "Entrar en la cola", waiting_title: "Espere, será atendido en breve",
    position: "Su posición:", leave: "Salir de la cola",
    rate_title: "¿Cómo fue la atención?", comment: "Comentario", send: "Enviar", thanks: "¡Gracias!",
    left_title: "Salió de la cola.", agent: "Agente:", connecting: "Conectando…", ended: "La llamada terminó.",
  },
  fr: {
    queue_full: "La file est pleine pour le moment. Réessayez dans quelques minutes.",
    join_check: "Vérifiez vos coordonnées : le nom est obligatoire, l'e-mail et le téléphone doivent être valides.", error: "Une erreur s'est produite. Réessayez.",
    agent_video: "La vidéo de l'agent", your_video: "Votre vidéo", mic_on: "Micro activé", mic_off: "Micro coupé", camera_on: "Caméra activée", camera_off: "Caméra coupée", hang_up: "Raccrocher", chat: "Discussion", message: "Message", hung_up_title: "Vous avez quitté l'appel.", hung_up_text: "L'agent peut encore clore la consultation. Voulez-vous revenir ?", rejoin: "Revenir à l'appel", agent_here: "L'agent est dans l'appel.", agent_left: "L'agent a quitté l'appel. Patientez…", connected: "Connecté.", disconnected: "Connexion perdue. Reconnexion…", failed: "La vidéo n'a pas pu se connecter. Rechargez la page.", no_media: "Pas de caméra ni de micro : l'agent ne vous voit ni ne vous entend.", agent_muted: "L'agent a coupé son micro.", agent_unmuted: "L'agent a activé son micro.", agent_camera_off: "L'agent a coupé sa caméra.", agent_camera_on: "L'agent a activé sa caméra.", you_muted: "Votre micro est coupé.", you_unmuted: "Votre micro est activé.", you_camera_off: "Votre caméra est coupée.", you_camera_on: "Votre caméra est activée.", hang_up_confirm: "Quitter l'appel ?", stars: "Note (1 à 5 étoiles)", you: "Vous",
    invalid_title: "Lien invalide ou expiré", invalid_text: "Demandez un nouveau lien à la clinique.",
    queue_now: "Dans la file :", wait: "attente estimée :", name: "Nom", email: "E-mail", phone: "Téléphone",
    reason: "Motif", join: "Rejoindre la file", waiting_title: "Patientez, vous serez reçu sous peu",
    position: "Votre position :", leave: "Quitter la file",
    rate_title: "Comment s'est passé l'appel ?", comment: "Commentaire", send: "Envoyer", thanks: "Merci !",
    left_title: "Vous avez quitté la file.", agent: "Agent :", connecting: "Connexion…", ended: "L'appel est terminé.",
  },
};

// The company's language when the link names one, else the first of the browser's
// languages (what it sends as Accept-Language) that the page speaks.
const choose = (wanted) => {
  if (TEXT[wanted]) return wanted;
  const base = wanted.split("-")[0];
  return base === "pt" ? "pt-BR" : TEXT[base] ? base : null;
};
let language = (navigator.languages || [navigator.language]).map((l) => choose(l || "")).find(Boolean) || "pt-BR";
const t = (key) => TEXT[language][key] || TEXT["pt-BR"][key];
function translate() {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);
  for (const element of document.querySelectorAll("[data-t-label]")) element.setAttribute("aria-label", t(element.dataset.tLabel));
}
translate();

function announce(text) {
  const note = document.createElement("div");
  note.className = "toast";
  note.textContent = text;
  $("live").append(note);
  setTimeout(() => note.remove(), 6000);
}

function $(id) {
  return document.getElementById(id);
}
const token = decodeURIComponent(location.pathname.split("/").pop() || "");
const minutes = (seconds) => (seconds < 60 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`);

function show(section) {
  for (const id of ["invalid", "form", "waiting", "in-call", "hung-up", "rate", "done", "left"]) $(id).hidden = id !== section;
}

/// The company's colour, darkened until text in it on white reaches 4.5:1 (WCAG AA).
function readable(hex) {
  const match = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!match) return "#4f46e5";
  let rgb = [0, 2, 4].map((i) => parseInt(match[1].slice(i, i + 2), 16));
  const luminance = (c) => {
    const [r, g, b] = c.map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  for (let step = 0; step < 40 && 1.05 / (luminance(rgb) + 0.05) < 4.5; step += 1) rgb = rgb.map((v) => Math.floor(v * 0.92));
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
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
  const companyLanguage = choose(info.locale || "");
  if (companyLanguage && companyLanguage !== language) {
    language = companyLanguage;
    translate();
  }
  $("company").textContent = info.company_name || "Voki";
  if (info.company_logo_url) {
    $("logo").src = info.company_logo_url;
    $("logo").hidden = false;
  }
  if (info.primary_color) document.documentElement.style.setProperty("--brand", readable(info.primary_color));
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
    // A link spent or cancelled meanwhile is the invalid page; the server's texts are English.
    if (error.status === 404 || error.status === 410) return show("invalid");
    $("join-error").textContent = t(error.status === 422 ? "join_check" : error.status === 409 ? "queue_full" : "error");
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
  const away = !$("hung-up").hidden;
  if (status.status === "queued" && status.user_name && !video && !away) connect();
  if (status.status === "active" && !video && !away) connect();
  if (status.status === "completed") return finished();
  if (status.status === "missed" || status.status === "cancelled") {
    forget();
    socket?.close();
    return show("left");
  }
  setTimeout(poll, 3000);
}

const STATES = { connected: "connected", disconnected: "disconnected", failed: "failed", "no-media": "no_media" };

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
    onState: (state, detail) => {
      if (state === "remote-mute") {
        const audio = detail.type === "audio";
        $("remote-state").textContent = t(audio ? (detail.muted ? "agent_muted" : "agent_unmuted") : (detail.muted ? "agent_camera_off" : "agent_camera_on"));
      } else if (state === "peer-joined") $("call-state").textContent = t("agent_here");
      else if (state === "peer-left") $("call-state").textContent = t("agent_left");
      else if (STATES[state]) $("call-state").textContent = t(STATES[state]);
    },
  });
  const topic = `call:${joined.call_id}`;
  socket.on(topic, "chat_message", addMessage);
  const reply = await video.start().catch(() => null);
  for (const message of reply?.messages || []) addMessage(message);
  if (reply?.participants?.some((p) => p.role === "agent")) $("call-state").textContent = t("agent_here");
}

function addMessage(message) {
  const log = $("chat-log");
  if (log.querySelector(`[data-id="${message.id}"]`)) return;
  const item = document.createElement("li");
  item.className = `msg ${message.sender_role === "customer" ? "ours" : "theirs"}`;
  item.dataset.id = message.id;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = message.sender_role === "customer" ? t("you") : message.sender_name || t("agent");
  const body = document.createElement("span");
  body.textContent = message.body;
  item.append(who, body);
  log.append(item);
  log.scrollTop = log.scrollHeight;
}

$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("chat-input");
  const body = input.value.trim();
  if (!body || !socket) return;
  try {
    const reply = await socket.push(`call:${joined.call_id}`, "chat_message", { body });
    if (reply?.message) addMessage(reply.message);
    input.value = "";
  } catch {
    announce(t("disconnected"));
  }
});

// Hanging up leaves the call's topic (the agent hears it) and stops the camera; the
// agent closes the consultation, after which the rating appears. The patient may go back.
$("hang-up").addEventListener("click", () => {
  video?.stop();
  video = null;
  show("hung-up");
  $("rejoin").focus();
});
$("rejoin").addEventListener("click", () => connect());

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
  stars.setAttribute("role", "group");
  stars.setAttribute("aria-label", t("stars"));
  let rating = 0;
  for (let n = 1; n <= 5; n++) {
    const star = document.createElement("button");
    star.type = "button";
    star.textContent = "★";
    star.setAttribute("aria-label", String(n));
    star.setAttribute("aria-pressed", "false");
    star.addEventListener("click", () => {
      rating = n;
      for (const [i, s] of [...stars.children].entries()) {
        s.classList.toggle("on", i < n);
        s.setAttribute("aria-pressed", String(i === n - 1));
      }
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

// Each toggle shows its state (label and aria-pressed) and announces it.
const muted = { audio: false, video: false };
for (const [kind, id, on, off, saidOn, saidOff] of [
  ["audio", "mute-audio", "mic_on", "mic_off", "you_unmuted", "you_muted"],
  ["video", "mute-video", "camera_on", "camera_off", "you_camera_on", "you_camera_off"],
]) {
  $(id).addEventListener("click", () => {
    muted[kind] = !muted[kind];
    video?.mute(kind, muted[kind]);
    $(id).setAttribute("aria-pressed", String(muted[kind]));
    $(id).dataset.t = muted[kind] ? off : on;
    $(id).textContent = t($(id).dataset.t);
    announce(t(muted[kind] ? saidOff : saidOn));
  });
}

start();
