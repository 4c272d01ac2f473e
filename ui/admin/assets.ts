/** The admin stylesheet, embedded and hashed like the pages' own assets (../assets.ts). */
import { asset } from "../assets.ts";
import cssSource from "./admin.css" with { type: "text" };

export const ADMIN_STYLESHEET = asset("/static/admin.css", cssSource, "text/css; charset=utf-8");
