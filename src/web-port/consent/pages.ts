/**
 * The fixed texts of the pages a person may land on. Texts never
 * include a code, token or cookie; they say what happened and what to do next.
 */

import { MessagePage, type MessageTone } from "../../../ui/message.tsx";
import type { GrantStatus } from "../../broker/rendezvous/store.ts";
import type { ErrorCode } from "../../core/errors.ts";
import type { ReplySet } from "../shared/reply.ts";

export interface Message {
  status: number;
  title: string;
  lines: string[];
  tone?: MessageTone;
  code?: ErrorCode;
}

/** The page for a message; its status goes on `set`. */
export function messagePage(set: ReplySet, message: Message): JSX.Element {
  set.status = message.status;
  const props = { title: message.title, lines: message.lines, tone: message.tone ?? "error" };
  return MessagePage(message.code === undefined ? props : { ...props, code: message.code });
}

/**
 * One text for "never existed" and "expired": the page must not tell a guesser which. It is also
 * what a reload shows once a request has expired, so it reads as an answer, not as a fault.
 */
export const NOT_FOUND_OR_EXPIRED: Message = {
  status: 404,
  title: "This request has expired or does not exist",
  lines: [
    "Codes last a few minutes. If you typed it, check it against the one your agent printed.",
    "Otherwise run the login again in your agent and open the new link it prints.",
  ],
  tone: "info",
};

/** What a reload of the consent page shows once the person has decided (200, no code). */
export function answered(status: Exclude<GrantStatus, "pending">, signIn: string): Message {
  if (status === "denied") {
    return { status: 200, title: "You denied this request", lines: [DENIED_LINE], tone: "info" };
  }
  if (status === "complete") {
    return {
      status: 200,
      title: "You approved this request",
      lines: [`You signed in at ${signIn} and the agent has received its token. You can close this tab.`],
      tone: "ok",
    };
  }
  return {
    status: 200,
    title: "You approved this request",
    lines: [
      `The sign-in at ${signIn} has not finished yet: finish it in the tab it opened.`,
      "If you closed that tab, run the login again in your agent and open the new link it prints.",
    ],
    tone: "info",
  };
}

const DENIED_LINE = "Nothing was issued. The agent was told that access was denied. You can close this tab.";

export const TOO_MANY_GUESSES: Message = {
  status: 429,
  title: "Too many attempts",
  lines: ["Too many wrong codes were entered from your network. Wait a minute and try again."],
  code: "rate_limited",
};

export const ALREADY_ANSWERED: Message = {
  status: 409,
  title: "Already answered",
  lines: ["This request has already been approved or denied. Start the login again if you need a new one."],
  code: "invalid_request",
};

export const CSRF_REJECTED: Message = {
  status: 403,
  title: "Form expired",
  lines: [
    "This form could not be verified (it may be stale or opened from another site). Nothing was changed.",
    "Open the link from your agent again.",
  ],
  code: "csrf_invalid",
};

export const FLOW_INVALID: Message = {
  status: 400,
  title: "Sign-in not recognised",
  lines: [
    "This sign-in did not start in this browser, was already used, or has expired. Nothing was issued.",
    "Open the link from your agent again and approve from the same browser.",
  ],
  code: "state_invalid",
};

export const ALREADY_USED: Message = {
  status: 409,
  title: "Already used",
  lines: ["This sign-in has already completed. Nothing more was issued. You can close this tab."],
  code: "invalid_grant",
};

export const DONE: Message = {
  status: 200,
  title: "All set",
  lines: ["Your agent will receive its token in a few seconds. You can close this tab."],
  tone: "ok",
};

export const DENIED: Message = {
  status: 200,
  title: "Request denied",
  lines: ["Nothing was issued. The agent will be told that access was denied. You can close this tab."],
  tone: "info",
};

export const SERVER_ERROR: Message = {
  status: 500,
  title: "Something went wrong",
  lines: ["The broker could not handle this request. Try again in a moment."],
  code: "server_error",
};

export const UNAVAILABLE: Message = {
  status: 503,
  title: "Temporarily unavailable",
  lines: ["The broker cannot reach its storage right now. Try again in a moment."],
  code: "temporarily_unavailable",
};

export const PAGE_NOT_FOUND: Message = {
  status: 404,
  title: "Page not found",
  lines: [
    "There is nothing at this address.",
    "To approve an agent, open the link it printed, or go to /device and type the code it shows.",
  ],
  code: "not_found",
};
