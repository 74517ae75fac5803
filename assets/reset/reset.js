// The page of the e-mailed reset link (`/reset-password?tenant=<slug>&token=<token>`):
// sets a new password through POST /api/auth/reset-password. Texts in en, pt-BR and fr,
// chosen by the browser's language.

const STRINGS = {
  en: {
    title: "Set a new password",
    password: "New password",
    confirm: "Repeat the new password",
    submit: "Save the password",
    missing: "This link is incomplete. Ask for a new one from the sign-in page.",
    mismatch: "The two passwords differ.",
    short: "The password needs at least 8 characters.",
    invalid: "This link is invalid or has expired. Ask for a new one from the sign-in page.",
    failed: "The password could not be saved. Try again.",
    done_title: "Password changed",
    done_text: "Every session of your account has ended. Sign in with the new password.",
    sign_in: "Go to sign in",
  },
  "pt-BR": {
    title: "Defina uma nova senha",
    password: "Nova senha",
    confirm: "Repita a nova senha",
    submit: "Salvar a senha",
    missing: "Este link está incompleto. Peça um novo na página de login.",
    mismatch: "As duas senhas são diferentes.",
    short: "A senha precisa de pelo menos 8 caracteres.",
    invalid: "Este link é inválido ou expirou. Peça um novo na página de login.",
    failed: "Não foi possível salvar a senha. Tente novamente.",
    done_title: "Senha alterada",
    done_text: "Todas as sessões da sua conta foram encerradas. Entre com a nova senha.",
    sign_in: "Ir para o login",
  },
  fr: {
    title: "Choisissez un nouveau mot de passe",
    password: "Nouveau mot de passe",
    confirm: "Répétez le nouveau mot de passe",
    submit: "Enregistrer le mot de passe",
    missing: "Ce lien est incomplet. Demandez-en un nouveau depuis la page de connexion.",
    mismatch: "Les deux mots de passe diffèrent.",
    short: "Le mot de passe doit contenir au moins 8 caractères.",
    invalid: "Ce lien est invalide ou a expiré. Demandez-en un nouveau depuis la page de connexion.",
    failed: "Le mot de passe n'a pas pu être enregistré. Réessayez.",
    done_title: "Mot de passe modifié",
    done_text: "Toutes les sessions de votre compte ont été fermées. Connectez-vous avec le nouveau mot de passe.",
    sign_in: "Aller à la connexion",
  },
};

function language() {
  for (const wanted of navigator.languages || [navigator.language || "en"]) {
    if (wanted.toLowerCase().startsWith("pt")) return "pt-BR";
    if (wanted.toLowerCase().startsWith("fr")) return "fr";
    if (wanted.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

const lang = language();
const t = (key) => STRINGS[lang][key] || STRINGS.en[key];
document.documentElement.lang = lang;
document.title = t("title");
for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);

const params = new URLSearchParams(location.search);
const tenant = params.get("tenant");
const token = params.get("token");
const form = document.getElementById("reset-form");
const error = document.getElementById("error");

function fail(message) {
  error.textContent = message;
  error.hidden = false;
}

if (!tenant || !token) {
  document.getElementById("missing").hidden = false;
  form.hidden = true;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const password = form.password.value;
  if (password.length < 8) return fail(t("short"));
  if (password !== form.confirm.value) return fail(t("mismatch"));
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch("/api/auth/reset-password", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant, token, password }),
    });
    if (response.ok) {
      // The token is spent: keep it out of the history and the address bar.
      history.replaceState(null, "", "/reset-password");
      document.getElementById("reset").hidden = true;
      document.getElementById("done").hidden = false;
      return;
    }
    const body = await response.json().catch(() => ({}));
    fail(body?.errors?.token ? t("invalid") : body?.errors?.password ? t("short") : t("failed"));
  } catch {
    fail(t("failed"));
  } finally {
    button.disabled = false;
  }
});
