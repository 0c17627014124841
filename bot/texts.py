"""Every sentence a user reads, keyed, in English and Vietnamese (`language_code` picks one)."""

from __future__ import annotations

from typing import Any

COMMANDS_EN = (
    "/image <prompt> — make an image (add 9:16 first for portrait)\n"
    "/animate <prompt> — reply to an image or a photo to turn it into a video\n"
    "   an album of 2 photos captioned /animate <prompt> — a video from the first photo to the "
    "second\n"
    "/video <prompt> — make a video from text (/video 9:16 … for portrait)\n"
    "   /video <prompt> --ref as a photo's or an album's caption (or a reply to one) — a video "
    "using up to 3 photos as references\n"
    "/status — your last jobs\n"
    "/cancel <id> — cancel one of your jobs\n"
    "/account — the Google account your jobs use\n"
    "/settings — your defaults: aspect, video model, duration, resolution, language\n"
    "Under each result: 🔁 Again, ⏩ Extend, ⬆️ 1080p / 4K / 2K where the service offers them\n"
    "/login, /logout — use your own Google account (private chat)\n"
    "/help — this message"
)
COMMANDS_VI = (
    "/image <mô tả> — tạo ảnh (thêm 9:16 ở đầu để có ảnh dọc)\n"
    "/animate <mô tả> — trả lời một ảnh hoặc một tấm hình để biến nó thành video\n"
    "   một album 2 tấm hình với chú thích /animate <mô tả> — video đi từ tấm đầu đến tấm "
    "thứ hai\n"
    "/video <mô tả> — tạo video từ văn bản (/video 9:16 … cho video dọc)\n"
    "   /video <mô tả> --ref làm chú thích của một tấm hình hay một album (hoặc trả lời một "
    "tấm) — video dùng tối đa 3 tấm hình làm tham chiếu\n"
    "/status — các việc gần đây của bạn\n"
    "/cancel <số> — huỷ một việc của bạn\n"
    "/account — tài khoản Google mà các việc của bạn dùng\n"
    "/settings — mặc định của bạn: tỉ lệ khung hình, mô hình video, thời lượng, độ phân giải, "
    "ngôn ngữ\n"
    "Dưới mỗi kết quả: 🔁 Làm lại, ⏩ Nối dài, ⬆️ 1080p / 4K / 2K khi dịch vụ hỗ trợ\n"
    "/login, /logout — dùng tài khoản Google của riêng bạn (chat riêng)\n"
    "/help — tin nhắn này"
)

EN: dict[str, str] = {
    "start": "👋 Hi {name}! I turn a sentence into an image and an image into a Veo 3 video.\n\n"
             + COMMANDS_EN + "\n\nYour Telegram id: {user_id}",
    "help": "What I can do:\n\n" + COMMANDS_EN + "\n\nYour Telegram id: {user_id}",
    "not_allowed": "Sorry, this bot is private. Your Telegram id is {user_id}: send it to the "
                   "operator to be let in.",
    "usage_image": "Tell me what to draw, e.g. /image a cute cat",
    "usage_video": "Tell me what to film, e.g. /video a dog surfing (or /video 9:16 … for "
                   "portrait).",
    "usage_animate": "Reply to an image or a photo with /animate and how it should move, e.g. "
                     "/animate walks slowly",
    "no_image_in_reply": "That message has no image I can use. Reply /animate to an image I made "
                         "or to a photo.",
    "prompt_too_long": "That prompt has {length} characters; the limit is {limit}. Please shorten "
                       "it.",
    "unknown_command": "I don't know that command. /help lists what I can do.",
    "photo_failed": "I could not fetch that photo from Telegram. Please send it again.",
    "ask_motion": "How should this image move? Reply to this message with a short description, "
                  "e.g. walks slowly.",
    "image_gone": "I no longer know that image. Make a new one with /image.",
    "not_your_image": "Only the person who made this image can animate it.",
    "animate_button": "🎬 Animate",
    "kind_image": "image",
    "kind_video": "video",
    "kind_animate": "animation",
    "kind_extend": "extension",
    "kind_upscale": "upscale",
    "kind_image_upscale": "image upscale",
    "phase_queued": "⏳ Job #{id} ({kind}) is queued.",
    "phase_queued_behind": "⏳ Job #{id} ({kind}) is queued: your other jobs come first.",
    "phase_submitting": "📤 Job #{id} ({kind}): sending to Google…",
    "phase_rendering": "🎬 Job #{id} ({kind}): rendering… {elapsed}",
    "phase_uploading": "📦 Job #{id} ({kind}): uploading…",
    "phase_done": "✅ Job #{id} ({kind}) done in {elapsed}.",
    "phase_done_credits": "✅ Job #{id} ({kind}) done in {elapsed} · {credits} credits left.",
    "phase_failed": "❌ Job #{id} ({kind}) failed. {reason}",
    "phase_waiting": "🔑 Job #{id} ({kind}) is paused: {reason}",
    "phase_waiting_account": "🔌 Job #{id} ({kind}) is paused: the Google account the bot uses "
                             "must be reconnected on useapi.net. Your job is saved and continues "
                             "by itself then.",
    "video_caption": "🎬 {prompt}",
    "too_large": "🎬 Your video is larger than the 50 MB Telegram lets a bot upload (the "
                 "operator can lift that with a self-hosted Bot API server). Download it here "
                 "(the link expires soon): {url}",
    "status_empty": "You have no jobs yet. Try /image a cute cat",
    "status_header": "Your last jobs:",
    "status_line": "#{id} {kind} · {state} · {age} ago — “{prompt}”",
    "status_reason": "   ↳ {reason}",
    "status_failover": "   ↳ {first} → {provider}",
    "failed_over": "↪️ {first} refused this ({reason}); trying {provider} instead.",
    "failed_over_unhealthy": "↪️ {first} is failing its health checks; trying {provider} instead.",
    "provider_flow": "Flow",
    "provider_gemini": "Google's API",
    "provider_useapi": "useapi.net",
    "refusal_auth_expired": "sign-in",
    "refusal_captcha": "captcha",
    "refusal_captcha_exhausted": "captcha",
    "refusal_model_retired": "model retired",
    "refusal_access_denied": "model not allowed",
    "refusal_quota": "no credits",
    "refusal_unavailable": "unreachable",
    "cancel_usage": "Which job? e.g. /cancel 12 (see /status for the numbers).",
    "cancel_not_found": "You have no job #{id}.",
    "cancel_finished": "Job #{id} has already ended ({state}).",
    "cancel_done": "Job #{id} is cancelled.",
    "state_queued": "queued",
    "state_submitting": "submitting",
    "state_submitted": "submitted",
    "state_rendering": "rendering",
    "state_downloaded": "uploading",
    "state_delivered": "delivered",
    "state_failed": "failed",
    "state_cancelled": "cancelled",
    "state_waiting_for_token": "waiting for token",
    "error_generation_failed": "Google could not generate it ({detail}). Try another prompt.",
    "error_unsafe": "Google's safety filters refused this prompt or image. Please change it and "
                    "try again.",
    "error_auth_expired": "the service refused the bot's token or key (expired or wrong). The "
                          "operator must renew it; your job is saved and continues then.",
    "error_quota": "the Google account's quota is used up. Please try again later.",
    "error_rate_limited": "Google is throttling requests and retries did not help. Please try "
                          "again in a few minutes.",
    "error_unavailable": "the generation service is unreachable (even after retries). Please try "
                         "again later.",
    "error_captcha": "the captcha service was refused several times. Please try again in a few "
                     "minutes.",
    "error_access_denied": "this Google account may not use this model. The operator must change "
                           "the model or the account's tier.",
    "error_rejected": "Google refused the request ({detail}). Please change it and try again.",
    "error_bad_response": "Google answered in a way I don't understand ({detail}). The operator "
                          "should check for an update.",
    "error_timeout": "it took longer than the time limit, so I stopped waiting. Please try again.",
    "error_interrupted": "the bot restarted while sending this job; to avoid paying twice it was "
                         "not sent again. Please send it again.",
    "error_unclear": "the service did not answer clearly whether it took this job, so to avoid "
                     "paying twice it was not sent again. It may still have been made (and "
                     "charged): check your account before sending it again.",
    "error_delivery_failed": "I could not send the result to this chat.",
    "error_lost": "the result file was lost. Please try again.",
    "error_too_large": "the result is larger than the 50 MB Telegram lets a bot upload, and "
                       "this provider's link cannot be shared. The operator can lift the limit "
                       "with a self-hosted Bot API server (TELEGRAM_API_URL); until then, try a "
                       "shorter or lower-resolution video.",
    "error_internal": "something went wrong inside the bot; the operator has the details.",
    "error_unknown": "something went wrong ({detail}). Please try again.",
    "error_model_retired": "the model this bot is set to use was retired by Google ({detail}). "
                           "The operator must set a current model.",
    "model_retired_on": "the {kind} model {model} was retired by Google on {date}; the operator "
                        "should set {variable}={replacement}.",
    "model_retired_gone": "the {kind} model {model} is no longer available at Google; the "
                          "operator should set {variable}={replacement}.",
    "option_missing_value": "The option {option} needs a value, e.g. --seed 42.",
    "option_bad_seed": "The seed must be a whole number from 0 to {max}, not “{value}”.",
    "option_bad_duration": "The duration must be a whole number of seconds from 1 to {max}, "
                           "e.g. --dur 8, not “{value}”.",
    "option_bad_resolution": "The resolution must be 360p, 720p, 1080p or 4k, not “{value}”.",
    "option_unsupported": "This provider can't honour {options} for this kind of job; remove it "
                          "and send again.",
    "aspect_unsupported": "This provider does not make {aspect}; it makes {ratios}.",
    "admins_only": "Only the bot's admins can do that.",
    "health_title": "🩺 Health checks (the same as python -m bot doctor):",
    "health_all_passed": "All {total} checks passed.",
    "health_failures": "{failed} of {total} checks failed.",
    "health_startup_failed": "⚠️ At start-up, {count} health check(s) failed:",
    "health_down": "⚠️ {count} health check(s) just failed:",
    "health_recovered": "✅ {count} health check(s) recovered:",
    "health_unavailable": "The health checks are not available in this bot.",
    "secret_in_group": "🔒 Never post secrets in a group: I deleted that message. Send it to me in "
                       "a private chat.",
    "usage_token": "Send the Google token like this, in a private chat: /token ya29.…",
    "usage_proxytoken": "Send the captcha proxy's token like this: /proxytoken <token>",
    "usage_cookie": "Send the labs.google session cookie (__Secure-next-auth.session-token) "
                    "like this: /cookie <value>",
    "usage_project": "Send the Flow project id like this: /project <id>",
    "project_saved": "📁 The Flow project is now {project}.",
    "field_bearer_token": "the Google token",
    "field_proxy_token": "the proxy token",
    "secret_saved": "🔑 Saved {what} {masked}. {resumed} paused job(s) resume.",
    "cookie_saved": "🍪 Saved the session cookie; it gave a fresh token {masked} (expires "
                    "{expires}). Tokens now renew by themselves. {resumed} paused job(s) resume.",
    "cookie_dead": "🍪 labs.google gave no token for that cookie: copy the whole value of "
                   "__Secure-next-auth.session-token again.",
    "account_operator": "Your jobs run on the operator's Google account; {jobs} of yours are "
                        "running. /login in a private chat uses your own account instead.",
    "account_operator_name": "the operator's account",
    "account_own_name": "your own account",
    "account_view": "Account: {name}\nToken: {masked}\nExpires: {expires}\nRenewal: {renewal}\n"
                    "Credits: {credits} (tier {tier})\nJobs running on it: {jobs}",
    "renewal_cookie": "automatic (session cookie set)",
    "renewal_manual": "by hand (send /token, or /cookie for automatic renewal)",
    "expires_unknown": "unknown (Google tokens last about an hour)",
    "in_time": "in {left}",
    "login_usage": "In a private chat: /login ya29.… project=<id> proxy=<proxy token>, or "
                   "/login cookie=<session cookie> project=<id> proxy=<proxy token>",
    "login_done": "✅ Your own Google account is set (token {masked}); your new jobs run on it. "
                  "/logout removes it.",
    "logout_done": "Your account is erased; your new jobs run on the operator's account.",
    "logout_none": "You have no account of your own.",
    "usage_allow": "Usage: /allow <user id>",
    "usage_deny": "Usage: /deny <user id>",
    "deny_admin": "{user_id} is an admin (ADMIN_USER_IDS) and stays allowed.",
    "allowed_done": "User {user_id} may use the bot now.",
    "denied_done": "User {user_id} may no longer use the bot.",
    "users_list": "Admins: {admins}\nAllowed: {allowed}\nDenied: {denied}",
    "daily_limit": "You have reached today's limit of {limit} videos. It resets at midnight UTC.",
    "account_alert": "🔌 The Google account behind useapi.net lost its session ({detail}) and "
                     "jobs are waiting. Reconnect it on useapi.net; the waiting jobs resume by "
                     "themselves once it is healthy again.",
    "account_useapi": "Account: the Google account on useapi.net\nHealth: {health}\nCredits: "
                      "{credits} (tier {tier})\nJobs running on it: {jobs}",
    "token_alert": "🔑 The Google token of account {account} has expired and jobs are waiting. "
                   "Send /token ya29.… (or /cookie …) to me in a private chat.",
    "error_account_disconnected": "the Google account the bot uses through useapi.net is "
                                  "disconnected ({detail}). The operator must reconnect it on "
                                  "useapi.net; please try again after that.",
    "error_captcha_exhausted": "Google's captcha check failed even after useapi.net's own "
                               "retries. Please try again in a few minutes.",
    "error_source_expired": "the result this starts from is no longer kept by the service (it "
                            "keeps results only for a while). Make a new one and use its "
                            "buttons.",
    "error_unhealthy": "the service is failing its health checks. Please try again later.",
    "album_frames_two": "A video from a first and a last frame takes exactly 2 photos; this album "
                        "has {count}. Send 2, or use /video <prompt> --ref to use up to {max} "
                        "photos as references.",
    "album_refs_max": "A video takes at most {max} reference photos; this album has {count}. "
                      "Send at most {max}.",
    "pictures_frames_max": "The {provider} provider animates at most {max} picture(s) as first "
                           "and last frame; this has {count}. Send fewer pictures.",
    "pictures_no_references": "The {provider} provider does not take reference pictures; send "
                              "/animate <prompt> with one picture instead.",
    "ref_needs_pictures": "--ref uses photos as references: send /video <prompt> --ref as the "
                          "caption of a photo or of an album of up to {max}, or as a reply to "
                          "one.",
    "maybe_duplicate": "↻ Sent again after a restart: you may already have this {kind}.",
    # buttons under results
    "button_again": "🔁 Again",
    "button_extend": "⏩ Extend",
    "button_1080p": "⬆️ 1080p",
    "button_4k": "⬆️ 4K",
    "button_2k": "⬆️ 2K",
    "result_gone": "I no longer have that result. Make a new one first.",
    "not_your_result": "Only the person who made this (or an admin) can use its buttons.",
    "action_unavailable": "This provider or model cannot do that with this result.",
    "source_expired": "That result is too old: the service no longer keeps it. Make a new one "
                      "and use its buttons.",
    "ask_continuation": "How should video #{id} go on? Reply to this message with what happens "
                        "next.",
    "usage_extend": "Reply to my question with what happens next in the video, e.g. the camera "
                    "pulls back.",
    "already_making": "Already on it: job #{id}.",
    "confirm_cost": "{action} of #{id} costs {cost}. Go ahead?",
    "confirm_yes": "✅ Yes, go ahead",
    "confirm_no": "✖️ No",
    "confirm_dropped": "OK, nothing was made.",
    "cost_credits": "{credits} Flow credits",
    "cost_free": "nothing extra",
    "cost_unknown": "more than a usual video (the exact price is not published)",
    "status_parent": "   ↳ {action} of #{id}",
    "origin_again": "again",
    "origin_extend": "extension",
    "origin_1080p": "1080p upscale",
    "origin_4k": "4K upscale",
    "origin_2k": "2K upscale",
    # /settings
    "settings_title": "⚙️ Your defaults: new jobs use them unless the command says otherwise.",
    "settings_aspect": "Aspect: {value}",
    "settings_video_model": "Video model: {value}",
    "settings_duration": "Duration: {value}",
    "settings_resolution": "Resolution: {value}",
    "settings_language": "Language: {value}",
    "settings_default": "default ({value})",
    "settings_unavailable": "{value} (not available here, so {default} is used)",
    "settings_model_own": "the model's own",
    "settings_seconds": "{seconds} s",
    "settings_from_telegram": "from Telegram ({language})",
    "language_en": "English",
    "language_vi": "Tiếng Việt",
    "settings_choose_aspect": "Choose the aspect of your new images and videos:",
    "settings_choose_video_model": "Choose the model of your new videos:",
    "settings_choose_duration": "Choose how long your new videos are:",
    "settings_choose_resolution": "Choose the resolution of your new videos:",
    "settings_choose_language": "Choose the language I speak to you in:",
    "settings_button_aspect": "📐 Aspect",
    "settings_button_video_model": "🎞 Model",
    "settings_button_duration": "⏱ Duration",
    "settings_button_resolution": "🖥 Resolution",
    "settings_button_language": "🌐 Language",
    "settings_button_reset": "↺ Reset all",
    "settings_button_default": "Default",
    "settings_button_from_telegram": "From Telegram",
    "settings_button_back": "« Back",
    "settings_default_mark": "(default)",
    "settings_cost_free": "free",
    "settings_cost_credits": "{credits} credits",
    "settings_not_yours": "These are someone else's settings: send /settings for yours.",
    "settings_stale": "That choice is no longer available.",
    "settings_saved": "Saved.",
    "settings_reset_done": "Back to the defaults.",
}

VI: dict[str, str] = {
    "start": "👋 Xin chào {name}! Mình biến một câu thành ảnh và một ảnh thành video Veo 3.\n\n"
             + COMMANDS_VI + "\n\nID Telegram của bạn: {user_id}",
    "help": "Mình có thể:\n\n" + COMMANDS_VI + "\n\nID Telegram của bạn: {user_id}",
    "not_allowed": "Xin lỗi, bot này là riêng tư. ID Telegram của bạn là {user_id}: hãy gửi nó "
                   "cho người quản lý để được cấp quyền.",
    "usage_image": "Hãy cho mình biết cần vẽ gì, ví dụ /image một chú mèo dễ thương",
    "usage_video": "Hãy cho mình biết cần quay gì, ví dụ /video chú chó lướt sóng (hoặc "
                   "/video 9:16 … cho video dọc).",
    "usage_animate": "Trả lời một ảnh hoặc một tấm hình bằng /animate và cách nó chuyển động, "
                     "ví dụ /animate đi chậm rãi",
    "no_image_in_reply": "Tin nhắn đó không có ảnh mình dùng được. Hãy trả lời /animate vào ảnh "
                         "mình đã tạo hoặc vào một tấm hình.",
    "prompt_too_long": "Mô tả dài {length} ký tự; giới hạn là {limit}. Hãy rút ngắn lại.",
    "unknown_command": "Mình không biết lệnh đó. /help liệt kê những gì mình làm được.",
    "photo_failed": "Mình không tải được tấm hình đó từ Telegram. Hãy gửi lại.",
    "ask_motion": "Ảnh này nên chuyển động thế nào? Hãy trả lời tin nhắn này bằng một mô tả "
                  "ngắn, ví dụ đi chậm rãi.",
    "image_gone": "Mình không còn nhớ ảnh đó. Hãy tạo ảnh mới bằng /image.",
    "not_your_image": "Chỉ người tạo ảnh này mới có thể làm nó chuyển động.",
    "animate_button": "🎬 Tạo video",
    "kind_image": "ảnh",
    "kind_video": "video",
    "kind_animate": "video từ ảnh",
    "kind_extend": "video nối dài",
    "kind_upscale": "video nâng độ phân giải",
    "kind_image_upscale": "ảnh nâng độ phân giải",
    "phase_queued": "⏳ Việc #{id} ({kind}) đang chờ.",
    "phase_queued_behind": "⏳ Việc #{id} ({kind}) đang chờ: các việc khác của bạn chạy trước.",
    "phase_submitting": "📤 Việc #{id} ({kind}): đang gửi tới Google…",
    "phase_rendering": "🎬 Việc #{id} ({kind}): đang tạo… {elapsed}",
    "phase_uploading": "📦 Việc #{id} ({kind}): đang tải lên…",
    "phase_done": "✅ Việc #{id} ({kind}) xong sau {elapsed}.",
    "phase_done_credits": "✅ Việc #{id} ({kind}) xong sau {elapsed} · còn {credits} tín dụng.",
    "phase_failed": "❌ Việc #{id} ({kind}) thất bại. {reason}",
    "phase_waiting": "🔑 Việc #{id} ({kind}) tạm dừng: {reason}",
    "phase_waiting_account": "🔌 Việc #{id} ({kind}) tạm dừng: tài khoản Google mà bot dùng cần "
                             "được kết nối lại trên useapi.net. Việc của bạn đã được lưu và sẽ tự "
                             "tiếp tục khi đó.",
    "video_caption": "🎬 {prompt}",
    "too_large": "🎬 Video của bạn lớn hơn 50 MB, mức Telegram cho phép bot tải lên (người "
                 "quản lý có thể gỡ giới hạn này bằng máy chủ Bot API tự vận hành). Tải về tại "
                 "đây (liên kết sắp hết hạn): {url}",
    "status_empty": "Bạn chưa có việc nào. Thử /image một chú mèo dễ thương",
    "status_header": "Các việc gần đây của bạn:",
    "status_line": "#{id} {kind} · {state} · {age} trước — “{prompt}”",
    "status_reason": "   ↳ {reason}",
    "status_failover": "   ↳ {first} → {provider}",
    "failed_over": "↪️ {first} đã từ chối việc này ({reason}); đang thử {provider}.",
    "failed_over_unhealthy": "↪️ {first} đang gặp sự cố (kiểm tra sức khỏe thất bại); "
                             "đang thử {provider}.",
    "provider_flow": "Flow",
    "provider_gemini": "API của Google",
    "provider_useapi": "useapi.net",
    "refusal_auth_expired": "đăng nhập",
    "refusal_captcha": "captcha",
    "refusal_captcha_exhausted": "captcha",
    "refusal_model_retired": "mô hình đã ngừng",
    "refusal_access_denied": "không được dùng mô hình",
    "refusal_quota": "hết tín dụng",
    "refusal_unavailable": "không kết nối được",
    "cancel_usage": "Việc nào? Ví dụ /cancel 12 (xem số trong /status).",
    "cancel_not_found": "Bạn không có việc #{id}.",
    "cancel_finished": "Việc #{id} đã kết thúc ({state}).",
    "cancel_done": "Đã huỷ việc #{id}.",
    "state_queued": "đang chờ",
    "state_submitting": "đang gửi",
    "state_submitted": "đã gửi",
    "state_rendering": "đang tạo",
    "state_downloaded": "đang tải lên",
    "state_delivered": "đã giao",
    "state_failed": "thất bại",
    "state_cancelled": "đã huỷ",
    "state_waiting_for_token": "chờ token",
    "error_generation_failed": "Google không tạo được ({detail}). Hãy thử mô tả khác.",
    "error_unsafe": "Bộ lọc an toàn của Google từ chối mô tả hoặc ảnh này. Hãy đổi và thử lại.",
    "error_auth_expired": "dịch vụ đã từ chối token hoặc khóa của bot (hết hạn hoặc sai). Người "
                          "quản lý cần làm mới nó; việc của bạn được giữ lại và sẽ tiếp tục sau "
                          "đó.",
    "error_quota": "tài khoản Google đã hết hạn mức. Hãy thử lại sau.",
    "error_rate_limited": "Google đang giới hạn tốc độ và thử lại không giúp được. Hãy thử lại "
                          "sau vài phút.",
    "error_unavailable": "dịch vụ tạo video không liên lạc được (kể cả sau khi thử lại). Hãy thử "
                         "lại sau.",
    "error_captcha": "dịch vụ captcha bị từ chối nhiều lần. Hãy thử lại sau vài phút.",
    "error_access_denied": "tài khoản Google này không được dùng mô hình này. Người quản lý cần "
                           "đổi mô hình hoặc gói tài khoản.",
    "error_rejected": "Google từ chối yêu cầu ({detail}). Hãy sửa và thử lại.",
    "error_bad_response": "Google trả lời theo cách mình không hiểu ({detail}). Người quản lý "
                          "nên kiểm tra bản cập nhật.",
    "error_timeout": "quá thời gian cho phép nên mình ngừng chờ. Hãy thử lại.",
    "error_interrupted": "bot khởi động lại đúng lúc đang gửi việc này; để tránh trả tiền hai "
                         "lần, nó không được gửi lại. Hãy gửi lại.",
    "error_unclear": "dịch vụ không trả lời rõ là đã nhận việc này hay chưa, nên để tránh trả "
                     "tiền hai lần mình không gửi lại. Có thể nó vẫn đã được tạo (và tính "
                     "tiền): hãy kiểm tra tài khoản trước khi gửi lại.",
    "error_delivery_failed": "mình không gửi được kết quả vào cuộc trò chuyện này.",
    "error_lost": "tệp kết quả bị mất. Hãy thử lại.",
    "error_too_large": "kết quả lớn hơn 50 MB, mức Telegram cho phép bot tải lên, và liên kết "
                       "của nhà cung cấp này không chia sẻ được. Người quản lý có thể gỡ giới "
                       "hạn bằng máy chủ Bot API tự vận hành (TELEGRAM_API_URL); trong lúc chờ, "
                       "hãy thử video ngắn hơn hoặc độ phân giải thấp hơn.",
    "error_internal": "có lỗi bên trong bot; người quản lý có chi tiết.",
    "error_unknown": "có lỗi xảy ra ({detail}). Hãy thử lại.",
    "error_model_retired": "mô hình mà bot đang dùng đã bị Google ngừng cung cấp ({detail}). "
                           "Người quản lý cần đặt một mô hình hiện hành.",
    "model_retired_on": "mô hình {kind} {model} đã bị Google ngừng cung cấp từ ngày {date}; "
                        "người quản lý nên đặt {variable}={replacement}.",
    "model_retired_gone": "mô hình {kind} {model} không còn được Google cung cấp; người quản lý "
                          "nên đặt {variable}={replacement}.",
    "option_missing_value": "Tuỳ chọn {option} cần một giá trị, ví dụ --seed 42.",
    "option_bad_seed": "Seed phải là số nguyên từ 0 đến {max}, không phải “{value}”.",
    "option_bad_duration": "Thời lượng phải là số giây nguyên từ 1 đến {max}, ví dụ --dur 8, "
                           "không phải “{value}”.",
    "option_bad_resolution": "Độ phân giải phải là 360p, 720p, 1080p hoặc 4k, không phải "
                             "“{value}”.",
    "option_unsupported": "Nhà cung cấp này không hỗ trợ {options} cho loại việc này; hãy bỏ "
                          "đi và gửi lại.",
    "aspect_unsupported": "Nhà cung cấp này không làm tỉ lệ {aspect}; nó làm {ratios}.",
    "admins_only": "Chỉ quản trị viên của bot mới làm được việc đó.",
    "health_title": "🩺 Kiểm tra sức khoẻ (giống python -m bot doctor):",
    "health_all_passed": "Cả {total} mục kiểm tra đều đạt.",
    "health_failures": "{failed} trên {total} mục kiểm tra không đạt.",
    "health_startup_failed": "⚠️ Khi khởi động, {count} mục kiểm tra sức khoẻ không đạt:",
    "health_down": "⚠️ {count} mục kiểm tra sức khoẻ vừa không đạt:",
    "health_recovered": "✅ {count} mục kiểm tra sức khoẻ đã ổn trở lại:",
    "health_unavailable": "Bot này không có các mục kiểm tra sức khoẻ.",
    "secret_in_group": "🔒 Đừng bao giờ gửi thông tin bí mật trong nhóm: mình đã xoá tin nhắn "
                       "đó. Hãy gửi cho mình trong chat riêng.",
    "usage_token": "Gửi token Google như sau, trong chat riêng: /token ya29.…",
    "usage_proxytoken": "Gửi token của proxy captcha như sau: /proxytoken <token>",
    "usage_cookie": "Gửi cookie phiên labs.google (__Secure-next-auth.session-token) như sau: "
                    "/cookie <giá trị>",
    "usage_project": "Gửi mã dự án Flow như sau: /project <mã>",
    "project_saved": "📁 Dự án Flow bây giờ là {project}.",
    "field_bearer_token": "token Google",
    "field_proxy_token": "token proxy",
    "secret_saved": "🔑 Đã lưu {what} {masked}. {resumed} việc đang tạm dừng sẽ tiếp tục.",
    "cookie_saved": "🍪 Đã lưu cookie phiên; nó cho token mới {masked} (hết hạn {expires}). "
                    "Token giờ sẽ tự làm mới. {resumed} việc đang tạm dừng sẽ tiếp tục.",
    "cookie_dead": "🍪 labs.google không cho token với cookie đó: hãy sao chép lại toàn bộ giá "
                   "trị __Secure-next-auth.session-token.",
    "account_operator": "Các việc của bạn chạy trên tài khoản Google của người vận hành; {jobs} "
                        "việc của bạn đang chạy. Dùng /login trong chat riêng để dùng tài khoản "
                        "của bạn.",
    "account_operator_name": "tài khoản của người vận hành",
    "account_own_name": "tài khoản của bạn",
    "account_view": "Tài khoản: {name}\nToken: {masked}\nHết hạn: {expires}\nLàm mới: "
                    "{renewal}\nTín dụng: {credits} (gói {tier})\nViệc đang chạy: {jobs}",
    "renewal_cookie": "tự động (đã có cookie phiên)",
    "renewal_manual": "thủ công (gửi /token, hoặc /cookie để tự làm mới)",
    "expires_unknown": "không rõ (token Google dùng được khoảng một giờ)",
    "in_time": "còn {left}",
    "login_usage": "Trong chat riêng: /login ya29.… project=<mã> proxy=<token proxy>, hoặc "
                   "/login cookie=<cookie phiên> project=<mã> proxy=<token proxy>",
    "login_done": "✅ Đã đặt tài khoản Google của bạn (token {masked}); các việc mới chạy trên "
                  "đó. /logout để xoá.",
    "logout_done": "Đã xoá tài khoản của bạn; các việc mới chạy trên tài khoản của người vận "
                   "hành.",
    "logout_none": "Bạn không có tài khoản riêng.",
    "usage_allow": "Cách dùng: /allow <id người dùng>",
    "usage_deny": "Cách dùng: /deny <id người dùng>",
    "deny_admin": "{user_id} là quản trị viên (ADMIN_USER_IDS) và vẫn được phép.",
    "allowed_done": "Người dùng {user_id} giờ được dùng bot.",
    "denied_done": "Người dùng {user_id} không còn được dùng bot.",
    "users_list": "Quản trị: {admins}\nĐược phép: {allowed}\nBị chặn: {denied}",
    "daily_limit": "Bạn đã đạt giới hạn {limit} video hôm nay. Giới hạn đặt lại lúc nửa đêm UTC.",
    "account_alert": "🔌 Tài khoản Google đằng sau useapi.net đã mất phiên đăng nhập ({detail}) "
                     "và các việc đang chờ. Hãy kết nối lại nó trên useapi.net; các việc đang chờ "
                     "sẽ tự tiếp tục khi nó hoạt động lại.",
    "account_useapi": "Tài khoản: tài khoản Google trên useapi.net\nTình trạng: {health}\nTín "
                      "dụng: {credits} (gói {tier})\nViệc đang chạy: {jobs}",
    "token_alert": "🔑 Token Google của tài khoản {account} đã hết hạn và các việc đang chờ. Hãy "
                   "gửi /token ya29.… (hoặc /cookie …) cho mình trong chat riêng.",
    "error_account_disconnected": "tài khoản Google mà bot dùng qua useapi.net đã mất kết nối "
                                  "({detail}). Người quản lý cần kết nối lại nó trên useapi.net; "
                                  "hãy thử lại sau đó.",
    "error_captcha_exhausted": "bước kiểm tra captcha của Google vẫn thất bại sau khi useapi.net "
                               "đã tự thử lại. Hãy thử lại sau vài phút.",
    "error_source_expired": "dịch vụ không còn giữ kết quả mà việc này bắt đầu từ đó (nó chỉ "
                            "giữ kết quả một thời gian). Hãy tạo kết quả mới và dùng các nút "
                            "của nó.",
    "error_unhealthy": "dịch vụ đang gặp sự cố (kiểm tra sức khỏe thất bại). Hãy thử lại sau.",
    "album_frames_two": "Video từ khung hình đầu và cuối cần đúng 2 tấm hình; album này có "
                        "{count}. Hãy gửi 2 tấm, hoặc dùng /video <mô tả> --ref để dùng tối đa "
                        "{max} tấm làm tham chiếu.",
    "album_refs_max": "Một video nhận tối đa {max} tấm hình tham chiếu; album này có {count}. "
                      "Hãy gửi tối đa {max} tấm.",
    "pictures_frames_max": "Nhà cung cấp {provider} chỉ tạo video từ tối đa {max} tấm hình làm "
                           "khung đầu và cuối; ở đây có {count}. Hãy gửi ít hình hơn.",
    "pictures_no_references": "Nhà cung cấp {provider} không nhận hình tham chiếu; hãy gửi "
                              "/animate <mô tả> với một tấm hình.",
    "ref_needs_pictures": "--ref dùng các tấm hình làm tham chiếu: hãy gửi /video <mô tả> --ref "
                          "làm chú thích của một tấm hình hoặc một album tối đa {max} tấm, hoặc "
                          "trả lời một tấm hình bằng lệnh đó.",
    "maybe_duplicate": "↻ Gửi lại sau khi bot khởi động lại: có thể bạn đã có {kind} này rồi.",
    # buttons under results
    "button_again": "🔁 Làm lại",
    "button_extend": "⏩ Nối dài",
    "button_1080p": "⬆️ 1080p",
    "button_4k": "⬆️ 4K",
    "button_2k": "⬆️ 2K",
    "result_gone": "Mình không còn giữ kết quả đó. Hãy tạo kết quả mới trước.",
    "not_your_result": "Chỉ người tạo kết quả này (hoặc quản trị viên) mới dùng được các nút "
                       "của nó.",
    "action_unavailable": "Nhà cung cấp hoặc mô hình này không làm được việc đó với kết quả này.",
    "source_expired": "Kết quả đó đã quá cũ: dịch vụ không còn giữ nó. Hãy tạo kết quả mới và "
                      "dùng các nút của nó.",
    "ask_continuation": "Video #{id} nên tiếp diễn thế nào? Hãy trả lời tin nhắn này bằng điều "
                        "xảy ra tiếp theo.",
    "usage_extend": "Hãy trả lời câu hỏi của mình bằng điều xảy ra tiếp theo trong video, ví dụ "
                    "máy quay lùi ra xa.",
    "already_making": "Đang làm rồi: việc #{id}.",
    "confirm_cost": "{action} cho #{id} tốn {cost}. Tiếp tục chứ?",
    "confirm_yes": "✅ Có, làm đi",
    "confirm_no": "✖️ Không",
    "confirm_dropped": "OK, không có gì được tạo.",
    "cost_credits": "{credits} tín dụng Flow",
    "cost_free": "không tốn thêm",
    "cost_unknown": "nhiều hơn một video thường (giá chính xác không được công bố)",
    "status_parent": "   ↳ {action} của #{id}",
    "origin_again": "làm lại",
    "origin_extend": "nối dài",
    "origin_1080p": "nâng lên 1080p",
    "origin_4k": "nâng lên 4K",
    "origin_2k": "nâng lên 2K",
    # /settings
    "settings_title": "⚙️ Mặc định của bạn: các việc mới dùng chúng trừ khi lệnh nói khác.",
    "settings_aspect": "Tỉ lệ khung hình: {value}",
    "settings_video_model": "Mô hình video: {value}",
    "settings_duration": "Thời lượng: {value}",
    "settings_resolution": "Độ phân giải: {value}",
    "settings_language": "Ngôn ngữ: {value}",
    "settings_default": "mặc định ({value})",
    "settings_unavailable": "{value} (không dùng được ở đây, nên dùng {default})",
    "settings_model_own": "theo mô hình",
    "settings_seconds": "{seconds} giây",
    "settings_from_telegram": "theo Telegram ({language})",
    "language_en": "English",
    "language_vi": "Tiếng Việt",
    "settings_choose_aspect": "Chọn tỉ lệ khung hình cho ảnh và video mới của bạn:",
    "settings_choose_video_model": "Chọn mô hình cho video mới của bạn:",
    "settings_choose_duration": "Chọn thời lượng cho video mới của bạn:",
    "settings_choose_resolution": "Chọn độ phân giải cho video mới của bạn:",
    "settings_choose_language": "Chọn ngôn ngữ mình dùng để nói với bạn:",
    "settings_button_aspect": "📐 Tỉ lệ",
    "settings_button_video_model": "🎞 Mô hình",
    "settings_button_duration": "⏱ Thời lượng",
    "settings_button_resolution": "🖥 Độ phân giải",
    "settings_button_language": "🌐 Ngôn ngữ",
    "settings_button_reset": "↺ Đặt lại tất cả",
    "settings_button_default": "Mặc định",
    "settings_button_from_telegram": "Theo Telegram",
    "settings_button_back": "« Quay lại",
    "settings_default_mark": "(mặc định)",
    "settings_cost_free": "miễn phí",
    "settings_cost_credits": "{credits} tín dụng",
    "settings_not_yours": "Đây là cài đặt của người khác: gửi /settings để xem của bạn.",
    "settings_stale": "Lựa chọn đó không còn nữa.",
    "settings_saved": "Đã lưu.",
    "settings_reset_done": "Đã trở về mặc định.",
}

TEXTS: dict[str, dict[str, str]] = {"en": EN, "vi": VI}


def language_of(code: str | None) -> str:
    """Our language for a Telegram `language_code` (English unless we speak theirs)."""
    short = (code or "en").split("-")[0].lower()
    return short if short in TEXTS else "en"


def text(lang: str, key: str, **values: Any) -> str:
    table = TEXTS.get(lang, EN)
    return table.get(key, EN[key]).format(**values)


def error_sentence(lang: str, code: str | None, detail: str | None) -> str:
    """One sentence for a stored failure code (the codes of `bot.jobs.errors`)."""
    sentence = _retired_sentence(lang, detail) if code == "model_retired" else None
    if sentence is None:
        key = f"error_{code}"
        if key not in EN:
            key = "error_unknown"
        sentence = text(lang, key, detail=(detail or "").strip().rstrip("."))
    return sentence[:1].upper() + sentence[1:]


def _retired_sentence(lang: str, detail: str | None) -> str | None:
    """The sentence of a `ModelRetired` detail (`model=… kind=… retired=… replacement=…
    variable=…`); None when the detail does not hold them."""
    fields = dict(part.split("=", 1) for part in (detail or "").split() if "=" in part)
    if not {"model", "kind", "replacement", "variable"} <= fields.keys():
        return None
    kind_key = f"kind_{fields['kind']}"
    kind = text(lang, kind_key) if kind_key in EN else fields["kind"]
    values = {"kind": kind, "model": fields["model"], "variable": fields["variable"],
              "replacement": fields["replacement"]}
    if "retired" in fields:
        return text(lang, "model_retired_on", date=fields["retired"], **values)
    return text(lang, "model_retired_gone", **values)


def failover_line(lang: str, first: str, provider: str, reason: str) -> str:
    """The line a job's progress message shows once it moved to the fallback provider."""
    if reason == "unhealthy":
        return text(lang, "failed_over_unhealthy", first=provider_label(lang, first),
                    provider=provider_label(lang, provider))
    return text(lang, "failed_over", first=provider_label(lang, first),
                provider=provider_label(lang, provider), reason=refusal(lang, reason))


def provider_label(lang: str, name: str) -> str:
    key = f"provider_{name}"
    return text(lang, key) if key in EN else name


def refusal(lang: str, code: str) -> str:
    key = f"refusal_{code}"
    return text(lang, key) if key in EN else code


def cost(lang: str, credits: int | None, price: str | None) -> str:
    """What an action costs, as its upstream or the catalog says (Flow credits, or a price)."""
    if credits == 0 and price is None:
        return text(lang, "cost_free")
    if credits is not None:
        return text(lang, "cost_credits", credits=number(lang, credits))
    return price or text(lang, "cost_unknown")


def origin_label(lang: str, origin: str) -> str:
    """What a button made (`/status`: "extension of #12")."""
    key = f"origin_{origin}"
    return text(lang, key) if key in EN else origin


def number(lang: str, value: int) -> str:
    """`1,234` in English, `1.234` in Vietnamese."""
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if lang == "vi" else grouped


def duration(seconds: float) -> str:
    """`42s`, `3m 05s`, `2h 10m`, `3d`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


#: The terminal's sentences (`python -m bot …`: generate, demo, start-up, settings), English only.
CLI: dict[str, str] = {
    "config_invalid": "{setting} {where}is not valid: {fix}.",
    "config_unreadable": "The settings could not be read ({error}): check .env and the "
                         "environment.",
    "crashed": "Unexpected error: {error}. Run again with --debug to see the traceback, and "
               "please report it.",
    "interrupted": "Interrupted.",
    "usage_what": "Say what to make: --image PROMPT [--animate PROMPT], --video PROMPT, or "
                  "--photo FILE --animate PROMPT (python -m bot generate --help shows examples).",
    "usage_video_and_picture": "--video makes a video from text alone; to animate the picture of "
                               "{picture}, use --animate instead of --video.",
    "usage_image_and_photo": "Use --image PROMPT (make a picture) or --photo FILE (your own), not "
                             "both.",
    "usage_photo_needs_animate": "--photo needs --animate PROMPT, saying how the picture should "
                                 "move, e.g. --animate \"walks slowly\".",
    "usage_animate_needs_picture": "--animate needs a picture: add --image PROMPT to make one or "
                                   "--photo FILE to use yours (--video PROMPT makes a video from "
                                   "text alone).",
    "prompt_empty": "{flag} is blank: say what to make, e.g. {flag} \"{example}\".",
    "prompt_too_long": "The {flag} prompt has {length} characters; the limit is {limit} "
                       "(PROMPT_MAX_CHARS): shorten it.",
    "photo_missing": "--photo {path}: there is no such file; check the path.",
    "photo_folder": "--photo {path} is a folder; give a picture file (PNG, JPEG or WebP).",
    "photo_unreadable": "--photo {path} cannot be read ({reason}); check its permissions.",
    "photo_not_picture": "--photo {path} is not a PNG, JPEG or WebP picture.",
    "output_no_folder": "-o {path}: the folder {folder} does not exist; create it (mkdir -p "
                        "{folder}) or choose another -o.",
    "output_is_folder": "-o {path} is a folder; give a file name, e.g. -o {example}.",
    "output_not_writable": "-o {path}: the folder {folder} is not writable; choose another -o.",
    "output_image_clash": "-o {path} would get both the image and the video: name the video, "
                          "e.g. -o {example} (the image goes beside it as {image}).",
    "output_is_photo": "-o {path} would overwrite your --photo; choose another -o.",
    "unsupported": "The {provider} provider cannot honour {options}: remove it, or choose "
                   "another --provider.",
    "missing_credentials": "The {provider} provider needs {names}, not set (or still a "
                           "replace-me placeholder): {fix}; `python -m bot demo` tries "
                           "everything without an account.",
    "fix_flow": "set them in .env or the environment (README: \"Accounts and tokens\")",
    "fix_gemini": "get a key at https://aistudio.google.com/apikey and set it in .env or the "
                  "environment",
    "auth_flow": "job {id} stopped: Google Flow or the proxy refused the credentials ({detail}); "
                 "FLOW_BEARER_TOKEN lasts about an hour, so copy a fresh one (README: "
                 "Troubleshooting) and check FLOW_PROXY_TOKEN.",
    "auth_gemini": "job {id} stopped: Google refused GEMINI_API_KEY ({detail}); check the key at "
                   "https://aistudio.google.com/apikey.",
    "check_upstream": "Check the network and {upstream}.",
    "account_disconnected": "job {id} is paused: the Google account on useapi.net lost its "
                            "session (596); reconnect it there, and the job continues by itself "
                            "once the account is healthy again.",
    "account_back": "job {id}: the account is healthy again; carrying on.",
    "failed_over": "job {id}: {first} refused it ({reason}); trying {provider} instead.",
    "credits_left": " · {credits} credits left",
    "saved_failed": "could not write {path} ({reason}).",
    "stop_nothing_sent": "Interrupted before anything was sent, so nothing is billed.",
    "stop_queued": "Interrupted: job {id} ({kind}) was not sent yet, so nothing is billed.",
    "stop_submitting": "Interrupted: job {id} ({kind}) was being sent to {provider}; it may have "
                       "been accepted (and billed), but no task id came back.",
    "stop_submitted": "Interrupted: job {id} ({kind}) was already submitted to {provider} as task "
                      "{task_id} and may be billed; stopping here does not cancel it there.",
    "stop_demo": "Interrupted: the demo stopped (nothing is billed: it runs on the simulator).",
    "run_no_token": "TELEGRAM_BOT_TOKEN is not set{placeholder}: get a token from @BotFather "
                    "and put it in .env (see .env.example); `python -m bot demo` tries the engine "
                    "without any account.",
    "run_token_refused": "Telegram at {url} refused TELEGRAM_BOT_TOKEN: copy the token again from "
                         "@BotFather{shape}.",
    "run_token_shape": " (a bot token looks like 123456789:AAE… with 35 characters after the "
                       "colon)",
    "run_unreachable": "Telegram is unreachable at {url} ({reason}): check TELEGRAM_API_URL "
                       "(default https://api.telegram.org) and the network.",
    "run_missing_credentials": "PROVIDER={provider}, but neither .env nor the environment sets "
                               "{names}: {fix}.",
    "run_fix_flow": "jobs wait unless an admin sends the missing values to the bot (/token, "
                    "/proxytoken, /project) or has sent them before",
    "run_fix_gemini": "jobs wait until it is set and the bot restarted",
    "run_stopped": "The bot stopped on an error: {error} (LOG_LEVEL=DEBUG shows the traceback).",
    "demo_needs_sim": "The demo needs the simulator extra ({module} is missing): "
                      "pip install -e \".[sim]\"",
    "demo_output_not_folder": "-o {path} is a file; give the folder where the demo should put "
                              "its image and video.",
    "demo_start": "Demo: the built-in simulator stands in for Google at {url} (no account, nothing "
                  "billed); making an image, then a video of it…",
    "demo_done": "Done in {elapsed}: the image is {image} and the video {video}. Next: put your "
                 "own keys in .env (see .env.example), then `python -m bot generate --help`, or "
                 "`python -m bot` for the Telegram bot.",
    "demo_failed": "The demo did not finish (see above); run it again with --debug for details.",
}


def cli(key: str, **values: Any) -> str:
    """A terminal sentence (`CLI`), formatted."""
    return CLI[key].format(**values)


def listing(names: list[str]) -> str:
    """`A`, `A and B`, `A, B and C`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
