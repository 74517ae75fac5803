// Shared by the booking page and the manage page: texts in three languages, the API
// helper, times in the clinic's time zone, and the day-and-time picker.

const TEXT = {
  en: {
    invalid_title: "This page is not available", invalid_text: "Ask the clinic for a new link.",
    pick_day: "Choose a day", pick_time: "Choose a time", agent: "Professional", any_agent: "Any available",
    no_slots: "No free times in these days.", later: "Later dates", earlier: "Earlier dates",
    your_details: "Your details", name: "Name", email: "E-mail", phone: "Phone", notes: "Notes for the clinic",
    book: "Book", booking: "Booking…", booked_title: "Your appointment is booked",
    booked_text: "We sent the details to your e-mail.", manage: "Change or cancel", join: "Join the call",
    taken: "That time was just taken. Next free times:", chosen: "Chosen time:", error: "Something went wrong. Try again.",
    appointment: "Your appointment", when: "When", with: "With", department: "Department", status: "Status",
    reschedule: "Choose another time", cancel: "Cancel the appointment", confirm_cancel: "Yes, cancel it",
    keep: "Keep it", reason: "Reason (optional)", move: "Move to this time", cancelled_title: "Your appointment is cancelled",
    moved: "Your appointment was moved.", too_late: "It is too late to change this appointment online. Please call the clinic.",
    minutes: "min",
    status_scheduled: "Scheduled", status_confirmed: "Confirmed", status_cancelled: "Cancelled",
    status_completed: "Completed", status_no_show: "Missed",
  },
  "pt-BR": {
    invalid_title: "Esta página não está disponível", invalid_text: "Peça um novo link à clínica.",
    pick_day: "Escolha o dia", pick_time: "Escolha o horário", agent: "Profissional", any_agent: "Qualquer disponível",
    no_slots: "Sem horários livres nestes dias.", later: "Próximas datas", earlier: "Datas anteriores",
    your_details: "Seus dados", name: "Nome", email: "E-mail", phone: "Telefone", notes: "Observações para a clínica",
    book: "Agendar", booking: "Agendando…", booked_title: "Sua consulta está agendada",
    booked_text: "Enviamos os detalhes para o seu e-mail.", manage: "Alterar ou cancelar", join: "Entrar na chamada",
    taken: "Esse horário acabou de ser ocupado. Próximos horários livres:", chosen: "Horário escolhido:",
    error: "Algo deu errado. Tente de novo.",
    appointment: "Sua consulta", when: "Quando", with: "Com", department: "Especialidade", status: "Situação",
    reschedule: "Escolher outro horário", cancel: "Cancelar a consulta", confirm_cancel: "Sim, cancelar",
    keep: "Manter", reason: "Motivo (opcional)", move: "Mudar para este horário", cancelled_title: "Sua consulta foi cancelada",
    moved: "Sua consulta foi remarcada.", too_late: "Já não é possível alterar esta consulta pela internet. Ligue para a clínica.",
    minutes: "min",
    status_scheduled: "Agendada", status_confirmed: "Confirmada", status_cancelled: "Cancelada",
    status_completed: "Realizada", status_no_show: "Não compareceu",
  },
  fr: {
    invalid_title: "Cette page n'est pas disponible", invalid_text: "Demandez un nouveau lien à la clinique.",
    pick_day: "Choisissez un jour", pick_time: "Choisissez un horaire", agent: "Praticien", any_agent: "Peu importe",
    no_slots: "Aucun horaire libre ces jours-là.", later: "Dates suivantes", earlier: "Dates précédentes",
    your_details: "Vos coordonnées", name: "Nom", email: "E-mail", phone: "Téléphone", notes: "Remarques pour la clinique",
    book: "Réserver", booking: "Réservation…", booked_title: "Votre rendez-vous est réservé",
    booked_text: "Nous avons envoyé les détails par e-mail.", manage: "Modifier ou annuler", join: "Rejoindre l'appel",
    taken: "Cet horaire vient d'être pris. Prochains horaires libres :", chosen: "Horaire choisi :",
    error: "Une erreur s'est produite. Réessayez.",
    appointment: "Votre rendez-vous", when: "Quand", with: "Avec", department: "Service", status: "État",
    reschedule: "Choisir un autre horaire", cancel: "Annuler le rendez-vous", confirm_cancel: "Oui, annuler",
    keep: "Garder", reason: "Motif (facultatif)", move: "Déplacer à cet horaire", cancelled_title: "Votre rendez-vous est annulé",
    moved: "Votre rendez-vous a été déplacé.", too_late: "Il est trop tard pour modifier ce rendez-vous en ligne. Appelez la clinique.",
    minutes: "min",
    status_scheduled: "Prévu", status_confirmed: "Confirmé", status_cancelled: "Annulé",
    status_completed: "Terminé", status_no_show: "Absent",
  },
};

/// The company's language when it has one, else the first of the browser's languages
/// (what it sends as Accept-Language) that the page speaks, else English.
export function chooseLanguage(companyLocale) {
  const wanted = [companyLocale, ...(navigator.languages || [navigator.language])].filter(Boolean);
  for (const tag of wanted) {
    if (TEXT[tag]) return tag;
    const base = tag.split("-")[0].toLowerCase();
    if (base === "pt") return "pt-BR";
    if (TEXT[base]) return base;
  }
  return "en";
}

export let language = chooseLanguage(null);
export const t = (key) => TEXT[language][key] ?? TEXT.en[key] ?? key;

export function translate(lang) {
  language = lang;
  document.documentElement.lang = lang;
  for (const element of document.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);
}

export const $ = (id) => document.getElementById(id);
export const token = decodeURIComponent(location.pathname.split("/").pop() || "");

export async function api(method, path, body) {
  const reply = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await reply.json().catch(() => ({}));
  if (!reply.ok) throw Object.assign(new Error(json?.errors?.detail || reply.statusText), { status: reply.status, json });
  return json.data;
}

export function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/// Formatting of instants in the clinic's zone, for the page's language.
export function clock(timezone) {
  const day = new Intl.DateTimeFormat(language, { timeZone: timezone, weekday: "short", day: "numeric", month: "short" });
  const long = new Intl.DateTimeFormat(language, {
    timeZone: timezone, weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
  const time = new Intl.DateTimeFormat(language, { timeZone: timezone, hour: "2-digit", minute: "2-digit" });
  const key = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" });
  return {
    day: (at) => day.format(new Date(at)),
    long: (at) => `${long.format(new Date(at))} (${timezone})`,
    time: (at) => time.format(new Date(at)),
    /// `YYYY-MM-DD` of the instant in the clinic's zone.
    date: (at) => key.format(new Date(at)),
  };
}

const addDays = (date, days) => {
  const next = new Date(`${date}T12:00:00Z`);
  next.setUTCDate(next.getUTCDate() + days);
  return next.toISOString().slice(0, 10);
};

/// The day and time picker. `load(from, to)` fetches `[{start, agents}]` (from/to null =
/// the server's default window); `onPick(slot)` gets the chosen slot.
export class SlotPicker {
  constructor({ root, timezone, load, onPick, agentFilter = false }) {
    Object.assign(this, { root, load, onPick, agentFilter });
    this.clock = clock(timezone);
    this.slots = [];
    this.from = null;
    this.agent = "";
    this.day = null;
    this.root.replaceChildren();
    this.agentSelect = element("select", { id: "agent-select", name: "agent" });
    this.agentSelect.addEventListener("change", () => {
      this.agent = this.agentSelect.value;
      this.render();
    });
    this.agentLabel = element("label", {}, element("span", { textContent: t("agent") }), this.agentSelect);
    this.agentLabel.hidden = !agentFilter;
    this.days = element("div", { className: "chips", id: "days", role: "group" });
    this.times = element("div", { className: "chips", id: "times", role: "group" });
    this.empty = element("p", { className: "muted", textContent: t("no_slots"), hidden: true });
    this.earlier = element("button", { type: "button", className: "secondary", textContent: t("earlier"), hidden: true });
    this.later = element("button", { type: "button", className: "secondary", id: "later", textContent: t("later") });
    this.earlier.addEventListener("click", () => this.page(-14));
    this.later.addEventListener("click", () => this.page(14));
    this.root.append(
      this.agentLabel,
      element("h3", { textContent: t("pick_day") }),
      this.days,
      this.empty,
      element("div", { className: "buttons" }, this.earlier, this.later),
      element("h3", { textContent: t("pick_time") }),
      this.times,
    );
  }

  async refresh() {
    this.slots = await this.load(this.from, this.from ? addDays(this.from, 13) : null);
    const names = new Map();
    for (const slot of this.slots) for (const a of slot.agents) names.set(a.user_id, a.user_name);
    const chosen = this.agent;
    this.agentSelect.replaceChildren(
      element("option", { value: "", textContent: t("any_agent") }),
      ...[...names].map(([id, name]) => element("option", { value: id, textContent: name })),
    );
    this.agentSelect.value = names.has(chosen) ? chosen : "";
    this.agent = this.agentSelect.value;
    this.render();
  }

  async page(days) {
    const today = this.clock.date(Date.now());
    const base = this.from || today;
    const next = addDays(base, days);
    this.from = next < today ? today : next;
    this.earlier.hidden = this.from <= today;
    this.day = null;
    await this.refresh();
  }

  visible() {
    return this.slots.filter((s) => !this.agent || s.agents.some((a) => a.user_id === this.agent));
  }

  /// The next free slots after `start` (for the 409 answer).
  after(start, count = 3) {
    return this.visible().filter((s) => s.start > start).slice(0, count);
  }

  render() {
    const slots = this.visible();
    const days = [...new Set(slots.map((s) => this.clock.date(s.start)))];
    if (!days.includes(this.day)) this.day = days[0] ?? null;
    this.empty.hidden = days.length > 0;
    this.days.replaceChildren(
      ...days.map((day) => {
        const first = slots.find((s) => this.clock.date(s.start) === day);
        const button = element("button", {
          type: "button", className: day === this.day ? "chip on" : "chip", textContent: this.clock.day(first.start),
        });
        button.setAttribute("aria-pressed", String(day === this.day));
        button.dataset.date = day;
        button.addEventListener("click", () => {
          this.day = day;
          this.render();
        });
        return button;
      }),
    );
    this.times.replaceChildren(
      ...slots
        .filter((s) => this.clock.date(s.start) === this.day)
        .map((slot) => {
          const button = element("button", { type: "button", className: "chip", textContent: this.clock.time(slot.start) });
          button.dataset.start = slot.start;
          button.addEventListener("click", () => {
            for (const other of this.times.children) other.classList.toggle("on", other === button);
            this.onPick(slot, this.agent || null);
          });
          return button;
        }),
    );
  }
}
