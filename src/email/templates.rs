//! The words of every e-mail kind in English, Português (Brasil) and Français. Each
//! message is written once as a list of blocks and rendered twice: as `text/plain` and as
//! a small self-contained `text/html` (no remote images, no tracking pixels).

use chrono::{Datelike, Timelike};
use chrono_tz::Tz;

use super::Locale;
use crate::time::Timestamp;

/// A rendered e-mail: subject and both bodies.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

enum Block {
    Paragraph(String),
    /// A button-like link with its label; the text part shows the URL under the label.
    Link {
        label: String,
        url: String,
    },
}

/// `Tuesday, 8 December 2026, 10:00 (America/Sao_Paulo)` in the words of `locale`, in
/// time zone `tz`.
pub fn local_time(at: Timestamp, tz: Tz, locale: Locale) -> String {
    let local = at.with_timezone(&tz);
    let weekday = local.weekday().num_days_from_monday() as usize;
    let month = local.month0() as usize;
    let (day, year, hour, minute) = (local.day(), local.year(), local.hour(), local.minute());
    match locale {
        Locale::En => {
            const DAYS: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            format!(
                "{}, {day} {} {year}, {hour:02}:{minute:02} ({tz})",
                DAYS[weekday], MONTHS[month]
            )
        }
        Locale::PtBr => {
            const DAYS: [&str; 7] = [
                "segunda-feira",
                "terça-feira",
                "quarta-feira",
                "quinta-feira",
                "sexta-feira",
                "sábado",
                "domingo",
            ];
            const MONTHS: [&str; 12] = [
                "janeiro",
                "fevereiro",
                "março",
                "abril",
                "maio",
                "junho",
                "julho",
                "agosto",
                "setembro",
                "outubro",
                "novembro",
                "dezembro",
            ];
            format!(
                "{}, {day} de {} de {year}, {hour:02}:{minute:02} ({tz})",
                DAYS[weekday], MONTHS[month]
            )
        }
        Locale::Fr => {
            const DAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
            const MONTHS: [&str; 12] = [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ];
            format!(
                "{} {day} {} {year}, {hour:02}:{minute:02} ({tz})",
                DAYS[weekday], MONTHS[month]
            )
        }
    }
}

/// What a patient e-mail about an appointment says.
#[derive(Debug, Clone)]
pub struct AppointmentFacts {
    pub company: String,
    pub customer_name: String,
    pub title: String,
    /// [`local_time`] of the start.
    pub when: String,
    pub duration_minutes: i64,
    pub agent_name: String,
    pub department_name: String,
    pub join_url: Option<String>,
    /// The patient's manage link (§7.3), once self-scheduling issues one.
    pub manage_url: Option<String>,
    pub cancel_reason: Option<String>,
}

fn greeting(locale: Locale, name: &str) -> Block {
    Block::Paragraph(match locale {
        Locale::En => format!("Hello {name},"),
        Locale::PtBr => format!("Olá, {name},"),
        Locale::Fr => format!("Bonjour {name},"),
    })
}

fn join_blocks(locale: Locale, facts: &AppointmentFacts, blocks: &mut Vec<Block>) {
    if let Some(url) = &facts.join_url {
        blocks.push(Block::Paragraph(
            match locale {
                Locale::En => "At the time of the appointment, open this link to join the video call:",
                Locale::PtBr => "No horário da consulta, abra este link para entrar na chamada de vídeo:",
                Locale::Fr => "À l'heure du rendez-vous, ouvrez ce lien pour rejoindre l'appel vidéo :",
            }
            .into(),
        ));
        blocks.push(Block::Link {
            label: match locale {
                Locale::En => "Join the video call",
                Locale::PtBr => "Entrar na chamada de vídeo",
                Locale::Fr => "Rejoindre l'appel vidéo",
            }
            .into(),
            url: url.clone(),
        });
    }
    if let Some(url) = &facts.manage_url {
        blocks.push(Block::Paragraph(
            match locale {
                Locale::En => "To cancel or choose another time:",
                Locale::PtBr => "Para cancelar ou escolher outro horário:",
                Locale::Fr => "Pour annuler ou choisir un autre horaire :",
            }
            .into(),
        ));
        blocks.push(Block::Link {
            label: match locale {
                Locale::En => "Manage my appointment",
                Locale::PtBr => "Gerenciar minha consulta",
                Locale::Fr => "Gérer mon rendez-vous",
            }
            .into(),
            url: url.clone(),
        });
    }
}

pub fn appointment_confirmation(locale: Locale, facts: &AppointmentFacts) -> Rendered {
    let AppointmentFacts {
        company,
        title,
        when,
        duration_minutes: minutes,
        agent_name: agent,
        department_name: department,
        ..
    } = facts;
    let subject = match locale {
        Locale::En => format!("Appointment booked: {title}"),
        Locale::PtBr => format!("Consulta agendada: {title}"),
        Locale::Fr => format!("Rendez-vous enregistré : {title}"),
    };
    let mut blocks = vec![
        greeting(locale, &facts.customer_name),
        Block::Paragraph(match locale {
            Locale::En => format!(
                "Your video appointment \u{201c}{title}\u{201d} with {agent} ({department}, {company}) is booked for {when}. It lasts {minutes} minutes."
            ),
            Locale::PtBr => format!(
                "Sua consulta por vídeo \u{201c}{title}\u{201d} com {agent} ({department}, {company}) está agendada para {when}. Duração: {minutes} minutos."
            ),
            Locale::Fr => format!(
                "Votre rendez-vous vidéo \u{ab}\u{a0}{title}\u{a0}\u{bb} avec {agent} ({department}, {company}) est prévu le {when}. Durée : {minutes} minutes."
            ),
        }),
    ];
    join_blocks(locale, facts, &mut blocks);
    blocks.push(Block::Paragraph(
        match locale {
            Locale::En => "The attached invite.ics adds the appointment to your calendar.",
            Locale::PtBr => "O arquivo invite.ics anexo adiciona a consulta à sua agenda.",
            Locale::Fr => "Le fichier invite.ics joint ajoute le rendez-vous à votre agenda.",
        }
        .into(),
    ));
    render(locale, subject, blocks, company)
}

pub fn appointment_rescheduled(locale: Locale, facts: &AppointmentFacts) -> Rendered {
    let AppointmentFacts {
        company,
        title,
        when,
        duration_minutes: minutes,
        agent_name: agent,
        ..
    } = facts;
    let subject = match locale {
        Locale::En => format!("Appointment moved: {title}"),
        Locale::PtBr => format!("Consulta remarcada: {title}"),
        Locale::Fr => format!("Rendez-vous déplacé : {title}"),
    };
    let mut blocks = vec![
        greeting(locale, &facts.customer_name),
        Block::Paragraph(match locale {
            Locale::En => format!(
                "Your video appointment \u{201c}{title}\u{201d} with {agent} ({company}) has moved. New time: {when}, {minutes} minutes."
            ),
            Locale::PtBr => format!(
                "Sua consulta por vídeo \u{201c}{title}\u{201d} com {agent} ({company}) foi remarcada. Novo horário: {when}, {minutes} minutos."
            ),
            Locale::Fr => format!(
                "Votre rendez-vous vidéo \u{ab}\u{a0}{title}\u{a0}\u{bb} avec {agent} ({company}) a été déplacé. Nouvel horaire : {when}, {minutes} minutes."
            ),
        }),
    ];
    join_blocks(locale, facts, &mut blocks);
    blocks.push(Block::Paragraph(
        match locale {
            Locale::En => "The attached invite.ics updates your calendar.",
            Locale::PtBr => "O arquivo invite.ics anexo atualiza a sua agenda.",
            Locale::Fr => "Le fichier invite.ics joint met à jour votre agenda.",
        }
        .into(),
    ));
    render(locale, subject, blocks, company)
}

pub fn appointment_cancelled(locale: Locale, facts: &AppointmentFacts) -> Rendered {
    let AppointmentFacts {
        company,
        title,
        when,
        agent_name: agent,
        ..
    } = facts;
    let subject = match locale {
        Locale::En => format!("Appointment cancelled: {title}"),
        Locale::PtBr => format!("Consulta cancelada: {title}"),
        Locale::Fr => format!("Rendez-vous annulé : {title}"),
    };
    let mut blocks = vec![
        greeting(locale, &facts.customer_name),
        Block::Paragraph(match locale {
            Locale::En => format!(
                "Your video appointment \u{201c}{title}\u{201d} with {agent} ({company}) on {when} has been cancelled."
            ),
            Locale::PtBr => format!(
                "Sua consulta por vídeo \u{201c}{title}\u{201d} com {agent} ({company}) em {when} foi cancelada."
            ),
            Locale::Fr => format!(
                "Votre rendez-vous vidéo \u{ab}\u{a0}{title}\u{a0}\u{bb} avec {agent} ({company}) du {when} a été annulé."
            ),
        }),
    ];
    if let Some(reason) = &facts.cancel_reason {
        blocks.push(Block::Paragraph(match locale {
            Locale::En => format!("Reason: {reason}"),
            Locale::PtBr => format!("Motivo: {reason}"),
            Locale::Fr => format!("Motif : {reason}"),
        }));
    }
    blocks.push(Block::Paragraph(
        match locale {
            Locale::En => "The attached invite.ics removes it from your calendar.",
            Locale::PtBr => "O arquivo invite.ics anexo a remove da sua agenda.",
            Locale::Fr => "Le fichier invite.ics joint le retire de votre agenda.",
        }
        .into(),
    ));
    render(locale, subject, blocks, company)
}

pub fn appointment_reminder(locale: Locale, facts: &AppointmentFacts) -> Rendered {
    let AppointmentFacts {
        company,
        title,
        when,
        agent_name: agent,
        ..
    } = facts;
    let subject = match locale {
        Locale::En => format!("Reminder: {title}, {when}"),
        Locale::PtBr => format!("Lembrete: {title}, {when}"),
        Locale::Fr => format!("Rappel : {title}, {when}"),
    };
    let mut blocks = vec![
        greeting(locale, &facts.customer_name),
        Block::Paragraph(match locale {
            Locale::En => {
                format!(
                    "A reminder of your video appointment \u{201c}{title}\u{201d} with {agent} ({company}) on {when}."
                )
            }
            Locale::PtBr => format!(
                "Um lembrete da sua consulta por vídeo \u{201c}{title}\u{201d} com {agent} ({company}) em {when}."
            ),
            Locale::Fr => format!(
                "Un rappel de votre rendez-vous vidéo \u{ab}\u{a0}{title}\u{a0}\u{bb} avec {agent} ({company}) le {when}."
            ),
        }),
    ];
    join_blocks(locale, facts, &mut blocks);
    render(locale, subject, blocks, company)
}

/// What an access-link e-mail says.
#[derive(Debug, Clone)]
pub struct LinkFacts {
    pub company: String,
    pub customer_name: Option<String>,
    pub department_name: String,
    pub url: String,
    /// [`local_time`] of the expiry.
    pub expires: String,
}

pub fn access_link(locale: Locale, facts: &LinkFacts) -> Rendered {
    let LinkFacts {
        company,
        department_name: department,
        expires,
        ..
    } = facts;
    let subject = match locale {
        Locale::En => format!("{company}: your video call link"),
        Locale::PtBr => format!("{company}: seu link para a chamada de vídeo"),
        Locale::Fr => format!("{company} : votre lien d'appel vidéo"),
    };
    let mut blocks = Vec::new();
    if let Some(name) = &facts.customer_name {
        blocks.push(greeting(locale, name));
    }
    blocks.push(Block::Paragraph(match locale {
        Locale::En => format!("{company} invites you to a video call ({department}). Open this link to join:"),
        Locale::PtBr => {
            format!("{company} convida você para uma chamada de vídeo ({department}). Abra este link para entrar:")
        }
        Locale::Fr => {
            format!("{company} vous invite à un appel vidéo ({department}). Ouvrez ce lien pour le rejoindre :")
        }
    }));
    blocks.push(Block::Link {
        label: match locale {
            Locale::En => "Join the video call",
            Locale::PtBr => "Entrar na chamada de vídeo",
            Locale::Fr => "Rejoindre l'appel vidéo",
        }
        .into(),
        url: facts.url.clone(),
    });
    blocks.push(Block::Paragraph(match locale {
        Locale::En => format!("The link is valid until {expires}."),
        Locale::PtBr => format!("O link é válido até {expires}."),
        Locale::Fr => format!("Le lien est valable jusqu'au {expires}."),
    }));
    render(locale, subject, blocks, company)
}

pub fn password_reset(locale: Locale, company: &str, name: &str, link: &str, ttl_minutes: i64) -> Rendered {
    let subject = match locale {
        Locale::En => "Reset your voki password",
        Locale::PtBr => "Redefina a sua senha do voki",
        Locale::Fr => "Réinitialisez votre mot de passe voki",
    }
    .to_string();
    let blocks = vec![
        greeting(locale, name),
        Block::Paragraph(match locale {
            Locale::En => format!(
                "Someone asked to reset the password of your account at {company}. Set a new one within {ttl_minutes} minutes:"
            ),
            Locale::PtBr => format!(
                "Alguém pediu para redefinir a senha da sua conta em {company}. Defina uma nova em até {ttl_minutes} minutos:"
            ),
            Locale::Fr => format!(
                "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte chez {company}. Choisissez-en un nouveau dans les {ttl_minutes} minutes :"
            ),
        }),
        Block::Link {
            label: match locale {
                Locale::En => "Set a new password",
                Locale::PtBr => "Definir uma nova senha",
                Locale::Fr => "Choisir un nouveau mot de passe",
            }
            .into(),
            url: link.into(),
        },
        Block::Paragraph(
            match locale {
                Locale::En => "If it was not you, ignore this message: your password stays as it is.",
                Locale::PtBr => "Se não foi você, ignore esta mensagem: a sua senha continua a mesma.",
                Locale::Fr => "Si ce n'était pas vous, ignorez ce message : votre mot de passe reste inchangé.",
            }
            .into(),
        ),
    ];
    render(locale, subject, blocks, company)
}

/// The subject and the body of `voki email test` and `POST /emails/test`.
pub fn smtp_test(company: &str) -> Rendered {
    let blocks = vec![Block::Paragraph(format!(
        "This is a test message from voki ({company}): the SMTP settings work."
    ))];
    render(Locale::En, "voki SMTP test".into(), blocks, company)
}

fn render(locale: Locale, subject: String, blocks: Vec<Block>, company: &str) -> Rendered {
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title></head>\n<body style=\"margin:0;padding:24px;font-family:Arial,Helvetica,sans-serif;font-size:16px;\
         line-height:1.5;color:#1f2937;background:#ffffff\">\n<div style=\"max-width:560px;margin:0 auto\">\n",
        locale.as_str(),
        escape_html(&subject)
    );
    for block in &blocks {
        match block {
            Block::Paragraph(paragraph) => {
                text.push_str(paragraph);
                text.push_str("\n\n");
                html.push_str(&format!("<p>{}</p>\n", escape_html(paragraph)));
            }
            Block::Link { label, url } => {
                text.push_str(&format!("{label}:\n{url}\n\n"));
                html.push_str(&format!(
                    "<p><a href=\"{url}\" style=\"display:inline-block;padding:10px 18px;background:#4f46e5;color:#ffffff;\
                     text-decoration:none;border-radius:6px\">{label}</a></p>\n<p style=\"font-size:13px;color:#4b5563;\
                     word-break:break-all\">{url}</p>\n",
                    url = escape_html(url),
                    label = escape_html(label)
                ));
            }
        }
    }
    text.push_str(&format!("-- \n{company}\n"));
    html.push_str(&format!(
        "<p style=\"margin-top:32px;font-size:13px;color:#6b7280\">{}</p>\n</div>\n</body>\n</html>\n",
        escape_html(company)
    ));
    Rendered { subject, text, html }
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_name_the_day_and_the_zone_in_each_language() {
        let at = crate::time::parse("2026-12-08T13:00:00Z").unwrap();
        let sao_paulo: Tz = "America/Sao_Paulo".parse().unwrap();
        assert_eq!(
            local_time(at, sao_paulo, Locale::PtBr),
            "terça-feira, 8 de dezembro de 2026, 10:00 (America/Sao_Paulo)"
        );
        assert_eq!(
            local_time(at, sao_paulo, Locale::En),
            "Tuesday, 8 December 2026, 10:00 (America/Sao_Paulo)"
        );
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            local_time(at, paris, Locale::Fr),
            "mardi 8 décembre 2026, 14:00 (Europe/Paris)"
        );
    }

    /// One rendered sample per kind and language, as patients and staff receive them.
    fn samples() -> Vec<(String, Rendered)> {
        let at = crate::time::parse("2026-12-08T13:00:00Z").unwrap();
        let tz: Tz = "America/Sao_Paulo".parse().unwrap();
        let mut samples = Vec::new();
        for locale in [Locale::En, Locale::PtBr, Locale::Fr] {
            let facts = AppointmentFacts {
                company: "Clínica Exemplo".into(),
                customer_name: "Ana Souza".into(),
                title: "Consulta de retorno".into(),
                when: local_time(at, tz, locale),
                duration_minutes: 30,
                agent_name: "Dra. Maria Lima".into(),
                department_name: "Cardiologia".into(),
                join_url: Some("https://clinic.example/call/Jl3heMkQPLmTE9aXDF7I0cg1EIZJ".into()),
                manage_url: Some("https://clinic.example/manage/BkUzTSCnXlV3UQOmsF8zdxF2".into()),
                cancel_reason: None,
            };
            let cancelled = AppointmentFacts {
                cancel_reason: Some("A doutora está em congresso".into()),
                manage_url: None,
                ..facts.clone()
            };
            let link = LinkFacts {
                company: facts.company.clone(),
                customer_name: Some(facts.customer_name.clone()),
                department_name: facts.department_name.clone(),
                url: "https://clinic.example/call/9gdNsczm08qHKkzDcfIx8O6fVPSI".into(),
                expires: local_time(at, tz, locale),
            };
            let reset_url = "https://clinic.example/reset-password?tenant=exemplo&token=EXAMPLE-TOKEN";
            for (kind, rendered) in [
                ("appointment_confirmation", appointment_confirmation(locale, &facts)),
                ("appointment_rescheduled", appointment_rescheduled(locale, &facts)),
                ("appointment_cancelled", appointment_cancelled(locale, &cancelled)),
                ("appointment_reminder", appointment_reminder(locale, &facts)),
                ("access_link", access_link(locale, &link)),
                (
                    "password_reset",
                    password_reset(locale, &facts.company, "Maria Lima", reset_url, 60),
                ),
            ] {
                samples.push((format!("{kind}.{}", locale.as_str()), rendered));
            }
        }
        samples
    }

    /// `docs/emails/` holds what each kind looks like; it must match the templates.
    /// `VOKI_WRITE_EMAIL_SAMPLES=1 cargo test --lib email_samples` writes it anew.
    #[test]
    fn email_samples_in_docs_match_the_templates() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/emails");
        let write = std::env::var_os("VOKI_WRITE_EMAIL_SAMPLES").is_some();
        if write {
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (name, rendered) in samples() {
            let text = format!("Subject: {}\n\n{}", rendered.subject, rendered.text);
            for (file, content) in [(format!("{name}.txt"), text), (format!("{name}.html"), rendered.html)] {
                let path = dir.join(&file);
                if write {
                    std::fs::write(&path, &content).unwrap();
                } else {
                    let stored = std::fs::read_to_string(&path).unwrap_or_default();
                    assert_eq!(
                        stored, content,
                        "docs/emails/{file} is stale: rerun with VOKI_WRITE_EMAIL_SAMPLES=1"
                    );
                }
            }
        }
    }

    #[test]
    fn html_parts_escape_what_people_type() {
        let rendered = password_reset(Locale::En, "<b>Clinic</b>", "Ann & Bob", "http://x/?a=1&b=2", 60);
        assert!(rendered.html.contains("&lt;b&gt;Clinic&lt;/b&gt;"));
        assert!(rendered.html.contains("Ann &amp; Bob"));
        assert!(rendered.html.contains("href=\"http://x/?a=1&amp;b=2\""));
        assert!(rendered.text.contains("http://x/?a=1&b=2"));
        assert!(!rendered.html.contains("<img"), "no tracking pixels");
    }
}
