//! A small SMTP server for the email notifier's tests: it speaks enough SMTP for lettre,
//! records what it received and injects faults per connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

/// An email as the server received it.
#[derive(Debug, Clone, Default)]
pub(super) struct Mail {
    pub(super) from: String,
    pub(super) to: Vec<String>,
    /// What came after `DATA`, dots unstuffed, without the final `.`.
    pub(super) data: String,
}

impl Mail {
    /// The header lines, unfolded.
    pub(super) fn headers(&self) -> Vec<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.replace("\r\n ", " ")
            .replace("\r\n\t", " ")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers()
            .into_iter()
            .find(|h| h.to_ascii_lowercase().starts_with(&prefix))
            .map(|h| h[prefix.len()..].trim().to_owned())
    }

    /// The body, its transfer encoding undone.
    pub(super) fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => unquote(raw),
            "base64" => BASE64.decode(raw.replace("\r\n", "")).unwrap(),
            _ => raw.as_bytes().to_vec(),
        };
        String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
    }
}

pub(super) fn unquote(qp: &str) -> Vec<u8> {
    let b = qp.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && b[i + 1..].starts_with(b"\r\n") {
            i += 3;
        } else if b[i] == b'=' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[derive(Default)]
pub(super) struct Seen {
    pub(super) connections: u32,
    /// Every command line, as received.
    pub(super) commands: Vec<String>,
    /// The user names and passwords of `AUTH`, decoded.
    pub(super) logins: Vec<(String, String)>,
    pub(super) mails: Vec<Mail>,
}

/// A small SMTP server: greets with 220, answers `EHLO` (offering `AUTH PLAIN LOGIN` and
/// `STARTTLS` when asked to; it cannot actually upgrade), `AUTH`, `MAIL FROM`, `RCPT TO`,
/// `DATA`, `RSET`, `NOOP` and `QUIT`, and records what it received. Each connection takes
/// the next fault, if any: a reply given instead of the usual one at a stage (`CONNECT`
/// for the greeting, `AUTH`, `MAIL`, `RCPT`, `DATA` once the text is in).
#[derive(Clone, Default)]
pub(super) struct Smtp {
    pub(super) auth: bool,
    pub(super) starttls: bool,
    pub(super) faults: Arc<Mutex<VecDeque<(&'static str, &'static str)>>>,
    pub(super) seen: Arc<Mutex<Seen>>,
}

impl Smtp {
    pub(super) fn failing(faults: &[(&'static str, &'static str)]) -> Smtp {
        let smtp = Smtp::default();
        smtp.faults.lock().unwrap().extend(faults);
        smtp
    }

    pub(super) async fn serve(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let smtp = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let smtp = smtp.clone();
                tokio::spawn(async move {
                    let _ = smtp.session(stream).await;
                });
            }
        });
        addr
    }

    pub(super) fn mails(&self) -> Vec<Mail> {
        self.seen.lock().unwrap().mails.clone()
    }

    pub(super) fn connections(&self) -> u32 {
        self.seen.lock().unwrap().connections
    }

    pub(super) fn commands(&self) -> Vec<String> {
        self.seen.lock().unwrap().commands.clone()
    }

    pub(super) async fn session(self, stream: TcpStream) -> std::io::Result<()> {
        self.seen.lock().unwrap().connections += 1;
        let fault = self.faults.lock().unwrap().pop_front();
        let fails = |stage: &str| {
            fault
                .filter(|(at, _)| *at == stage)
                .map(|(_, reply)| reply.to_owned())
        };
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        if let Some(reply) = fails("CONNECT") {
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
            return Ok(());
        }
        write.write_all(b"220 test.local ESMTP\r\n").await?;
        let mut mail = Mail::default();
        let mut logged_in = false;
        while let Some(command) = line(&mut read).await? {
            self.seen.lock().unwrap().commands.push(command.clone());
            let words: Vec<&str> = command.split(' ').collect();
            let reply = match words[0].to_ascii_uppercase().as_str() {
                "EHLO" => {
                    let mut r = String::from("250-test.local\r\n");
                    if self.starttls {
                        r.push_str("250-STARTTLS\r\n");
                    }
                    if self.auth {
                        r.push_str("250-AUTH PLAIN LOGIN\r\n");
                    }
                    r.push_str("250 8BITMIME");
                    r
                }
                "HELO" => "250 test.local".into(),
                "STARTTLS" => "454 4.7.0 TLS not available".into(),
                "AUTH" if !self.auth => "503 5.5.1 no AUTH here".into(),
                "AUTH" => {
                    let mut ask = async |prompt: &str| -> std::io::Result<String> {
                        write.write_all(format!("{prompt}\r\n").as_bytes()).await?;
                        Ok(line(&mut read).await?.unwrap_or_default())
                    };
                    let decode = |b64: &str| {
                        String::from_utf8(BASE64.decode(b64.trim()).unwrap_or_default())
                            .unwrap_or_default()
                    };
                    let login = match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
                        Some("PLAIN") => {
                            let b64 = match words.get(2) {
                                Some(b) => (*b).to_owned(),
                                None => ask("334 ").await?,
                            };
                            let plain = decode(&b64);
                            let parts: Vec<&str> = plain.split('\0').collect();
                            (parts.len() == 3).then(|| (parts[1].to_owned(), parts[2].to_owned()))
                        }
                        Some("LOGIN") => {
                            let user = decode(&ask("334 VXNlcm5hbWU6").await?);
                            let pass = decode(&ask("334 UGFzc3dvcmQ6").await?);
                            Some((user, pass))
                        }
                        _ => None,
                    };
                    match (login, fails("AUTH")) {
                        (Some(login), None) => {
                            self.seen.lock().unwrap().logins.push(login);
                            logged_in = true;
                            "235 2.7.0 Authentication successful".into()
                        }
                        (Some(_), Some(reply)) => reply,
                        (None, _) => "504 5.5.4 unknown mechanism".into(),
                    }
                }
                "MAIL" if self.auth && !logged_in => "530 5.7.0 Authentication required".into(),
                "MAIL" => match fails("MAIL") {
                    Some(reply) => reply,
                    None => {
                        mail = Mail {
                            from: address(&command),
                            ..Mail::default()
                        };
                        "250 2.1.0 OK".into()
                    }
                },
                "RCPT" => match fails("RCPT") {
                    Some(reply) => reply,
                    None => {
                        mail.to.push(address(&command));
                        "250 2.1.5 OK".into()
                    }
                },
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").await?;
                    let mut data = String::new();
                    loop {
                        let mut raw = String::new();
                        if read.read_line(&mut raw).await? == 0 {
                            return Ok(());
                        }
                        if raw == ".\r\n" {
                            break;
                        }
                        data.push_str(raw.strip_prefix('.').unwrap_or(&raw));
                    }
                    match fails("DATA") {
                        Some(reply) => reply,
                        None => {
                            mail.data = data;
                            self.seen.lock().unwrap().mails.push(mail.clone());
                            "250 2.0.0 OK queued".into()
                        }
                    }
                }
                "RSET" => {
                    mail = Mail::default();
                    "250 2.0.0 OK".into()
                }
                "NOOP" => "250 2.0.0 OK".into(),
                "QUIT" => {
                    write.write_all(b"221 2.0.0 bye\r\n").await?;
                    return Ok(());
                }
                _ => "502 5.5.2 unknown command".into(),
            };
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
        Ok(())
    }
}

/// One command line without its CRLF; `None` at the end of the connection.
pub(super) async fn line(read: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<String>> {
    let mut raw = String::new();
    if read.read_line(&mut raw).await? == 0 {
        return Ok(None);
    }
    Ok(Some(raw.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The address of `MAIL FROM:<a>` or `RCPT TO:<a>`.
pub(super) fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line[start..].find('>').map_or(line.len(), |i| start + i);
    line[start..end].to_owned()
}
